"""The VPC: functions and the database live in private subnets; AWS APIs are reached through NAT (S3 through a
gateway endpoint): a NAT gateway per AZ in prod, one in dev, and in the lean profile a NAT instance (t4g.nano:
$3 a month against $33, without a NAT gateway's availability or bandwidth; docs/cost.md)."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct


class TrainforgeNetwork(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, production: bool, lean: bool = False) -> None:
        super().__init__(scope, construct_id)
        self.nat_instance = (
            ec2.NatProvider.instance_v2(
                instance_type=ec2.InstanceType("t4g.nano"),
                machine_image=ec2.MachineImage.latest_amazon_linux2023(
                    cpu_type=ec2.AmazonLinuxCpuType.ARM_64
                ),
                # nothing may reach it from outside; what may use it is allowed below (HTTPS from the VPC)
                default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
                associate_public_ip_address=True,  # its own: the public subnets give none by default
            )
            if lean
            else None
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateway_provider=self.nat_instance,
            nat_gateways=1 if lean or not production else 2,
            subnet_configuration=[
                # NAT only: a NAT gateway has its Elastic IP, and nothing else launched here gets an address
                ec2.SubnetConfiguration(
                    name="public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="functions", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name="database", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        if self.nat_instance is not None:
            self.nat_instance.connections.allow_from(
                ec2.Peer.ipv4(self.vpc.vpc_cidr_block), ec2.Port.tcp(443), "HTTPS from the VPC to AWS's APIs"
            )
            for (
                instance
            ) in self.nat_instance.gateway_instances:  # its root volume encrypted, as every volume here
                root = ec2.CfnInstance.EbsProperty(encrypted=True, volume_size=8, volume_type="gp3",
                                                   delete_on_termination=True)  # fmt: skip
                cfn = instance.instance
                cfn.block_device_mappings = [
                    ec2.CfnInstance.BlockDeviceMappingProperty(device_name="/dev/xvda", ebs=root)
                ]
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
