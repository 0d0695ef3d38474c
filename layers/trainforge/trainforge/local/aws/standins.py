"""Two AWS APIs moto does not serve, answered over real HTTP in AWS's JSON protocol so that boto3's own clients
reach them (through ``AWS_ENDPOINT_URL_PRICING`` and ``AWS_ENDPOINT_URL_SERVICE_QUOTAS``):

- the Price List Query API's ``GetProducts`` for ``AmazonSageMaker``: records of AWS's real shape (product
  attributes, ``terms.OnDemand...priceDimensions...pricePerUnit.USD``) as JSON strings, filtered by the
  request's ``TERM_MATCH`` filters and paged with ``NextToken``, priced from the bundled table;
- Service Quotas' ``ListServiceQuotas`` for ``sagemaker``: the instance quotas local mode enforces
  (``TRAINFORGE_LOCAL_INSTANCE_QUOTAS``), named as AWS names them ("ml.m5.large for training job usage").
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from trainforge.capacity.price_table import TRAINING_PRICE_PER_HOUR_USD

LOCATIONS = {
    "us-east-1": ("US East (N. Virginia)", "USE1"),
    "us-east-2": ("US East (Ohio)", "USE2"),
    "us-west-2": ("US West (Oregon)", "USW2"),
    "eu-west-1": ("EU (Ireland)", "EU"),
    "eu-central-1": ("EU (Frankfurt)", "EUC1"),
}
PUBLICATION = "2025-11-01T00:00:00Z"


def price_record(
    region: str, instance_type: str, usd: Decimal, component: str = "Training"
) -> dict[str, Any]:
    """One Price List record for a SageMaker instance, shaped as ``GetProducts`` returns it."""
    location, prefix = LOCATIONS.get(region, (region, region.upper()))
    usage = {"Training": "Train", "Hosting": "Host", "SpotTraining": "Train-Spot"}.get(component, component)
    sku = hashlib.sha256(f"{region}/{instance_type}/{component}".encode()).hexdigest()[:16].upper()
    term, rate = f"{sku}.JRTCKXETXF", f"{sku}.JRTCKXETXF.6YS6EN2CT7"
    return {
        "product": {
            "productFamily": "ML Instance",
            "attributes": {
                "regionCode": region,
                "servicecode": "AmazonSageMaker",
                "servicename": "Amazon SageMaker",
                "location": location,
                "locationType": "AWS Region",
                "usagetype": f"{prefix}-{usage}:{instance_type}",
                "operation": "RunInstance",
                "instanceName": instance_type,
                "instanceType": f"{instance_type}-{component}",
                "platoinstancetype": component,
                "platoinstancename": instance_type,
                "component": component,
                "computeType": "CPU" if ".g" not in instance_type and ".p" not in instance_type else "GPU",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonSageMaker",
        "terms": {
            "OnDemand": {
                term: {
                    "priceDimensions": {
                        rate: {
                            "unit": "Hrs",
                            "endRange": "Inf",
                            "description": f"${usd} per On Demand ML {component} {instance_type} in {location}",
                            "appliesTo": [],
                            "rateCode": rate,
                            "beginRange": "0",
                            "pricePerUnit": {"USD": f"{usd:.10f}"},
                        }
                    },
                    "sku": sku,
                    "effectiveDate": PUBLICATION,
                    "offerTermCode": "JRTCKXETXF",
                    "termAttributes": {},
                }
            }
        },
        "version": "20251101000000",
        "publicationDate": PUBLICATION,
    }


def quota_record(region: str, account: str, pool: str, value: int) -> dict[str, Any]:
    """One Service Quotas entry for a SageMaker training instance quota."""
    instance_type, _, spot = pool.partition("/")
    name = f"{instance_type} for {'spot ' if spot else ''}training job usage"
    code = "L-" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()
    return {
        "ServiceCode": "sagemaker",
        "ServiceName": "Amazon SageMaker",
        "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:sagemaker/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "Value": float(value),
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }


class AccountStandIns:
    """The Price List and Service Quotas stand-ins on a loopback port."""

    def __init__(
        self,
        quotas: tuple[tuple[str, int], ...] = (),
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        page_size: int = 25,
    ) -> None:
        self.quotas = dict(quotas)
        self.region = region
        self.account = account
        self.page_size = page_size
        self.calls: dict[str, int] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                target = self.headers.get("X-Amz-Target", "")
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    status, payload = stand_in.answer(target, body)
                except (ValueError, TypeError):
                    status, payload = 400, {"__type": "SerializationException", "message": "bad request body"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def environ(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL_PRICING": self.endpoint_url,
            "AWS_ENDPOINT_URL_SERVICE_QUOTAS": self.endpoint_url,
        }

    def start(self) -> AccountStandIns:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, target: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        operation = target.rpartition(".")[2]
        self.calls[operation] = self.calls.get(operation, 0) + 1
        if target == "AWSPriceListService.GetProducts":
            return self._get_products(body)
        if target == "ServiceQuotasV20190624.ListServiceQuotas":
            return self._list_service_quotas(body)
        return 400, {"__type": "UnknownOperationException", "message": f"{target} is not served here"}

    def _page(self, items: list[Any], body: Mapping[str, Any], key: str) -> dict[str, Any]:
        start = int(body.get("NextToken") or 0)
        size = int(body.get("MaxResults") or self.page_size)
        page: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            page["NextToken"] = str(start + size)
        return page

    def _get_products(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("ServiceCode") != "AmazonSageMaker":
            return 200, {"PriceList": [], "FormatVersion": "aws_v1"}
        records = []
        for region in LOCATIONS:
            for instance_type, usd in TRAINING_PRICE_PER_HOUR_USD.items():
                for component, factor in (("Training", Decimal(1)), ("Hosting", Decimal("1.15"))):
                    records.append(price_record(region, instance_type, usd * factor, component))
        for item in body.get("Filters") or []:
            if item.get("Type") == "TERM_MATCH":
                field, value = item.get("Field"), item.get("Value")
                records = [r for r in records if r["product"]["attributes"].get(field) == value]
        page = self._page([json.dumps(r) for r in records], body, "PriceList")
        return 200, {**page, "FormatVersion": "aws_v1"}

    def _list_service_quotas(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("ServiceCode") != "sagemaker":
            return 200, {"Quotas": []}
        quotas = [quota_record(self.region, self.account, pool, value) for pool, value in self.quotas.items()]
        # Quotas that are not instance quotas come in the same listing.
        quotas.append(
            {
                "ServiceCode": "sagemaker",
                "QuotaCode": "L-E5C4E4E1",
                "QuotaName": "Longest run time for a training job",
                "Value": 2419200.0,
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        )
        return 200, self._page(quotas, body, "Quotas")
