"""SageMaker's own rules for a training job (names, sizes, counts), in one place for the domain that enforces them
and the API schemas that state them."""

from __future__ import annotations

import re

from trainforge.models.instance_types import TRAINING_INSTANCE_SIZES

# An s3:// location as the API takes one (a bucket name, then any key).
S3_LOCATION = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.(?P<family>[a-z0-9]+(?:-[a-z0-9]+)?)\.(?P<size>[a-z0-9]+)$")
ENV_KEY_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
CHANNEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")  # SageMaker's ChannelName
DEFAULT_CHANNEL = "training"  # the contract's single s3_input_uri is this channel
MAX_CHANNELS = 20
CHANNEL_OPTIONS: dict[str, tuple[str, ...]] = {
    "input_mode": ("File", "FastFile", "Pipe"),
    "compression": ("None", "Gzip"),
    "distribution": ("FullyReplicated", "ShardedByS3Key"),
}
S3_URI_PATTERN = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")

# Instance families SageMaker offers for training (botocore's TrainingInstanceType; a test keeps them in step).
TRAINING_INSTANCE_FAMILIES = frozenset(TRAINING_INSTANCE_SIZES)

MAX_HYPERPARAMETERS = 100
MAX_HYPERPARAMETER_KEY = 256
MAX_HYPERPARAMETER_VALUE = 2500
MAX_METRIC_DEFINITIONS = 40
MAX_ENVIRONMENT_VARIABLES = 100
MAX_ENVIRONMENT_VALUE = 512
MAX_TAGS = 50
MAX_RUNTIME_LIMIT_SECONDS = 28 * 24 * 3600  # SageMaker's ceiling; accounts start at 5 days by quota
MAX_VOLUME_GB = 16384
MAX_INSTANCE_COUNT = 100

# Trainforge's own bounds: a job's priority in the capacity queue, and the longest it may wait there.
MIN_PRIORITY, MAX_PRIORITY = -100, 100
MAX_QUEUE_SECONDS = 30 * 24 * 3600

# A job's own security, retries and warm pool (botocore's CreateTrainingJob shapes).
MAX_KEEP_ALIVE_SECONDS = 21600
MAX_RETRY_ATTEMPTS = 30
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5
VPC_ID_PATTERN = re.compile(r"^[-0-9a-zA-Z]{1,32}$")
KMS_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9:/_-]{1,2048}$")
# Hyperparameter tuning (CreateHyperParameterTuningJob)
TUNING_JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")  # 32 characters
MAX_TUNING_RANGES = 30  # across all kinds
MAX_CATEGORICAL_VALUES = 30
MAX_TUNING_TRAINING_JOBS = 500
MAX_TUNING_PARALLEL_JOBS = 100
