"""Where the teams' notices go outside Trainforge, made from the team definitions the stack is given
(``-c teams_file=teams.json``):

- a team with an email subscription gets its topic ``trainforge-team-<team>``, each address subscribed to it (SNS
  sends each address a confirmation first);
- a chatbot subscription with a ``channel`` gets its topic (the subscription's ``target``) and an AWS Chatbot
  channel configuration for that Slack or Microsoft Teams channel listening to it. Trainforge has no Slack client:
  Chatbot posts what the notifications function publishes.

The topics are encrypted with a key of their own, which only the notifications function may use to publish. The
chat channels get a role with no permissions and the AWSDenyAll guardrail: they show notices, and nobody can run
AWS commands from them.

Subscriptions added later through ``PUT /teams/{name}`` are stored and delivered, but their topics and channels
come from the next deployment with the same definitions in teams.json.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.constructs.chat_channels import ChatChannels
from stacks.key_policy import grants_only_for_aws_services
from trainforge.models.team_definitions import TeamDefinition, email_topic_name


class TrainforgeTeamNotices(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, teams: Sequence[TeamDefinition]) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self, "TopicKey", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN,
            description="Trainforge's team notice topics",
        )  # fmt: skip
        grants_only_for_aws_services(self.key)
        self.topics: dict[str, sns.Topic] = {}
        self.chat = ChatChannels(self, "Chat", purpose="Trainforge's notices")
        for team in teams:
            for subscription in team.notifications:
                if subscription.kind == "email":
                    topic = self._topic(email_topic_name(team.name))
                    topic.add_subscription(subscriptions.EmailSubscription(subscription.target))
                if subscription.kind != "chatbot" or not subscription.channel:
                    continue
                topic = self._topic(subscription.target.rsplit(":", 1)[-1])
                # unique in the account and region, as Chatbot requires: another stage's stack has its own
                name = f"{Stack.of(self).stack_name}-{topic.node.id}-{len(self.chat.channels) + 1}"
                self.chat.add(subscription.channel, topic, name)
        self.channels = self.chat.channels

    def _topic(self, name: str) -> sns.Topic:
        topic = self.topics.get(name)
        if topic is None:
            topic = self.topics[name] = sns.Topic(
                self, name, topic_name=name, display_name="Trainforge", master_key=self.key, enforce_ssl=True
            )
        return topic

    def allow_publishing(self, grantee: iam.IGrantable) -> None:
        """The notifications function encrypts what it publishes with the topics' key (its sns:Publish statement
        names the topics)."""
        self.key.grant(grantee, "kms:Decrypt", "kms:GenerateDataKey")
