"""An AWS Chatbot channel (Slack, or Microsoft Teams) that shows what an SNS topic receives, and nothing more:
AWSDenyAll as its guardrail, and for Teams a role with no permissions. Used for the teams' notices and for the
alarms. ``channel`` is ``slack:<workspace>/<channel>`` or ``msteams:<tenant>/<team>/<channel>`` (CHAT_CHANNEL)."""

from __future__ import annotations

from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from trainforge.models.team_definitions import CHAT_CHANNEL

NOTICES_ONLY = "arn:aws:iam::aws:policy/AWSDenyAll"  # a chat channel may read notices, and do nothing else


def parse_channel(channel: str) -> dict[str, str]:
    found = CHAT_CHANNEL.fullmatch(channel)
    if found is None:
        raise ValueError(f"{channel!r}: a chat channel is slack:<workspace>/<channel> or "
                         "msteams:<tenant>/<team>/<channel>")  # fmt: skip
    return {key: value for key, value in found.groupdict().items() if value}


class ChatChannels(Construct):
    """The channels of one construct's topics; one role for its Microsoft Teams channels."""

    def __init__(self, scope: Construct, construct_id: str, *, purpose: str) -> None:
        super().__init__(scope, construct_id)
        self.purpose = purpose
        self.channels: list[object] = []
        self._role: iam.Role | None = None
        self._guardrail = iam.ManagedPolicy.from_managed_policy_arn(self, "NoticesOnly", NOTICES_ONLY)

    def add(self, channel: str, topic: sns.ITopic, name: str) -> object:
        """``name``: unique in the account and region, as Chatbot requires."""
        found = parse_channel(channel)
        index = len(self.channels)
        if "workspace" in found:
            made: object = chatbot.SlackChannelConfiguration(
                self, f"Slack{index}", slack_channel_configuration_name=name[:128],
                slack_workspace_id=found["workspace"], slack_channel_id=found["slack_channel"],
                notification_topics=[topic], logging_level=chatbot.LoggingLevel.ERROR,
                guardrail_policies=[self._guardrail],
            )  # fmt: skip
        else:
            if self._role is None:
                self._role = iam.Role(
                    self, "ChatChannelRole", assumed_by=iam.ServicePrincipal("chatbot.amazonaws.com"),
                    description=f"Microsoft Teams channels of {self.purpose}: no permissions",
                )  # fmt: skip
            made = chatbot.CfnMicrosoftTeamsChannelConfiguration(
                self, f"MicrosoftTeams{index}", configuration_name=name[:128], iam_role_arn=self._role.role_arn,
                teams_tenant_id=found["tenant"], team_id=found["team"], teams_channel_id=found["teams_channel"],
                sns_topic_arns=[topic.topic_arn], guardrail_policies=[NOTICES_ONLY], logging_level="ERROR",
            )  # fmt: skip
        self.channels.append(made)
        return made
