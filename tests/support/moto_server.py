#!/usr/bin/env python3
"""moto, made to behave more like AWS, for cutover's tests.

Runs moto's server in this process and adds what moto does not do:

* Simulated time: every AWS duration below (an instance's boot, a target's
  initial health checks, a target group's deregistration delay) is AWS's
  own length times ``--time-scale`` (default 1, AWS's real durations; the
  tests pass something like 0.05, so that a 10 s health-check interval times
  a healthy threshold of 2, 20 s on AWS, takes 1 s here; 0 makes them all
  instant).
* Auto Scaling acts later than the call (``--asg-delay`` seconds, not
  scaled): the desired capacity is stored at once, as AWS does, and a
  scaling activity carries it out afterwards (``--asg-delay 0``: at the
  call). A launched instance is ``Pending`` for a boot (30 s, scaled), then
  is registered with the group's target groups and goes ``InService``; an
  instance scaled in is ``Terminating``, deregistered from the group's
  target groups, until their deregistration delay (scaled) has passed, and
  is then gone and its EC2 instance terminated. moto launches InService
  instances and removes scaled-in ones at once, leaving them registered.
* Target health as ELBv2 reports it: a target just registered is
  ``initial`` until HealthyThresholdCount x HealthCheckIntervalSeconds
  (scaled) have passed; a deregistered one is listed as ``draining`` for the
  group's deregistration delay (scaled), then gone. DeregisterTargets of a
  target that is not registered succeeds, as the API reference says (moto
  answers InvalidTarget). moto reports every registered target healthy at
  once and forgets deregistered ones.
* Auto Scaling and target groups: instances are registered at the end of
  Pending, deregistered when scaled in, detached, or their group's target
  group is detached (DescribeLoadBalancerTargetGroups: Removing while they
  drain; InService once one passed; detaching a target group that is not
  attached changes nothing); an instance terminated through EC2 is replaced
  by a new launch.
* DescribeScalingActivities lists launches, terminations and failed
  launches with their status, in AWS's order and words, in pages (moto
  always answers an empty list).
* ClientToken idempotency of CreateLaunchTemplate and
  CreateLaunchTemplateVersion: the same token answers with what the first
  call made; with other parameters, IdempotentParameterMismatch (moto
  ignores tokens and makes a new version at each call).
* Every instance reports the launch template version it was launched from,
  as AWS does (moto reports the template's current default version).
* A group keeps and describes its DefaultInstanceWarmup (moto drops it).
* CreateTargetGroup and CreateListener with the same settings answer with
  the existing resource, and with any other setting are refused
  (DuplicateTargetGroupName / DuplicateListener), all settings compared.
* A target group's LoadBalancerArns are the load balancers whose listeners
  or rules forward to it now (moto adds one at each create, never takes it
  away); DescribeListeners may lag a ModifyListener (below).
* A fault layer in front of moto, driven by rules the test posts:
  throttling in each service's own error format, 500s, connection resets,
  answers dropped after moto carried the call out, denied writes, latency.
* Launches of chosen images fail: the scaling activity fails with AWS's
  message, no instance starts, and Auto Scaling tries again every 2 s or
  more (moto launches any image).

Usage: moto_server.py [-H HOST] [-p PORT] [--asg-delay SECONDS]
                      [--time-scale S] [--seed N]
Prints ``PORT=<n>`` once listening (``-p 0`` picks a free port).

Control endpoints (never faulted, never counted):
  POST /_fault/rules     a JSON list of rules; replaces the current ones
  POST /_fault/failing_images  a JSON list of image ids whose launches fail
  POST /_fault/reset     no rules, no failing images, no failed activities
  GET  /_fault/stats     {"faults": {kind: n}, "calls": n}
  GET  /_fault/calls     {"service:Operation": n}: the API calls received,
                         faulted ones included, by operation (service as in
                         rules), e.g. {"ec2:CreateLaunchTemplateVersion": 3}
(Any method works on each: GET or POST.)

A rule: {
  "kind": "throttle" | "500" | "reset" | "drop" | "deny" | "latency"
          | "unseen" (a launch template just made is not found yet),
          | "hidden" (DescribeLaunchTemplates or DescribeTargetGroups
                      lists none yet),
  "service": "ec2" | "autoscaling" | "elbv2" | "ssm" | "*",  (default "*")
  "action": an operation name, "writes" or "*",              (default "*")
  "rate": probability per call (default 1),
  "times": how many calls it hits at most (default unlimited),
  "first_of_each": true hits only the first sending of each distinct
                   request (its retries by the SDK go through),
  "body_contains": a string the request body must contain (one parameter's
                   PutParameter, say),
  "seconds": latency in seconds
}
  POST /_fault/stale_listener_secs  a JSON number: for that long after a
                   ModifyListener, DescribeListeners still shows the
                   listener's actions before it (ELBv2's reads are
                   eventually consistent; 0 turns it off)
"deny" with action "*" or "writes" hits writes only; a named action is
denied whether it reads or writes (a read-only role).

Random rates repeat: the draw for a call is keyed by (``--seed``, service,
operation, that operation's sequence number, the rule's place in the list),
not taken from one stream in arrival order, so the same seed hits the same
n-th CreateLaunchTemplateVersion (say) however concurrent calls of other
operations interleave. (Two concurrent calls of the same operation still
take their numbers in arrival order.)
"""
import argparse
import datetime
import functools
import io
import itertools
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs

from werkzeug.serving import ThreadedWSGIServer

import moto.autoscaling.models as asm
from moto.autoscaling.exceptions import AutoscalingClientError
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.launch_templates import LaunchTemplate
from moto.ec2.utils import parse_user_data
from moto.elbv2.exceptions import ELBClientError, TargetGroupNotFoundError
from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

# moto's backends have no lock of their own; requests and the deferred
# scaling activities take this one.
LOCK = threading.RLock()
ASG_DELAY = 0.0
RULES: list = []
SEEN: set = set()
SEED = 0
FAILING_IMAGES: set = set()
STATS = {"faults": {}, "calls": 0}
CALLS: dict = {}

# ------------------------------------------------------- simulated time
# --time-scale: every AWS duration simulated here is AWS's length times it.
TIME_SCALE = 1.0
# Pending -> InService of an instance Auto Scaling launched: its boot, which
# AWS does not fix (EC2 pending, then the group's own checks); half a minute
# is typical.
BOOT_SECONDS = 30.0


def scaled(seconds):
    return float(seconds) * TIME_SCALE


def later(seconds, action):
    """Runs `action` under LOCK `seconds` from now; at once, in this thread,
    when `seconds` is 0 or less (a time scale of 0: everything instant)."""
    if seconds <= 0:
        with LOCK:
            action()
        return

    def run():
        with LOCK:
            action()

    timer = threading.Timer(seconds, run)
    timer.daemon = True
    timer.start()


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


# ------------------------------------------------ Auto Scaling acts later
# AWS stores a new desired capacity at once and carries it out in a scaling
# activity afterwards (Amazon EC2 Auto Scaling User Guide, "Verify a scaling
# activity for an Auto Scaling group"); moto launches and terminates inside
# the call. The instance lifecycle is AWS's (User Guide, "Amazon EC2 Auto
# Scaling instance lifecycle"):
# * scale out: instances start Pending; "Amazon EC2 Auto Scaling
#   automatically registers your instance with the load balancer before it
#   marks the instance as InService". Here: Pending for BOOT_SECONDS
#   (scaled), then registered with the group's target groups (where the
#   target is `initial`), then InService.
# * scale in: the instance goes Terminating and is deregistered from the
#   group's target groups, where it drains; "After the deregistration delay
#   elapses, the deregistration process completes ... If the target is part
#   of an Auto Scaling group, it can be terminated and replaced"
#   (Application Load Balancers User Guide, "Deregistration delay"); the
#   activity's status meanwhile is WaitingForELBConnectionDraining (Auto
#   Scaling API Reference, Activity / ScalingActivityStatusCode). Here:
#   Terminating for the longest deregistration delay (scaled) of the target
#   groups it was registered with, then gone from the group and its EC2
#   instance terminated.
# With --asg-delay 0 the activity runs inside the call; Pending and
# Terminating still take their scaled time (instant at --time-scale 0).
_tls = threading.local()
LIVE = ("Pending", "InService")  # what counts towards the desired capacity


def _set_desired(self, new_capacity):
    # The desired capacity shows at once; the instances follow.
    self.desired_capacity = self.min_size if new_capacity is None else new_capacity
    if ASG_DELAY > 0 and getattr(_tls, "defer", False):
        scaling_activity(self, ASG_DELAY)
    else:
        converge(self)


def scaling_activity(group, delay):
    """Brings `group` to its desired capacity `delay` seconds from now."""

    def activity():
        if group.autoscaling_backend.autoscaling_groups.get(group.name) is not group:
            return  # deleted, replaced, or the backend was reset
        converge(group)

    later(delay, activity)


def converge(group):
    """Launches or retires instances to meet the latest desired capacity
    (N -> 0 -> N before the activity runs keeps the instances, as on AWS)."""
    live = [s for s in group.instance_states if s.lifecycle_state in LIVE]
    wanted = wanted_instances(group)
    if wanted > len(live):
        if group.image_id in FAILING_IMAGES:
            failed_launch(group, len(live))
            # Auto Scaling tries a failed launch again, on its own.
            scaling_activity(group, max(ASG_DELAY, 1.0) * 2)
            return
        launch(group, wanted - len(live), len(live))
    elif wanted < len(live):
        # moto's choice of instance: the first unprotected ones.
        leaving = [s for s in live if not s.protected_from_scale_in][: len(live) - wanted]
        for state in leaving:
            retire(group, state, len(live), wanted)


def wanted_instances(group):
    """How many instances the desired capacity asks for (moto's count,
    weights of a mixed instances policy included)."""
    target = group.desired_capacity or 0
    policy = group.mixed_instances_policy or {}
    overrides = policy.get("LaunchTemplate", {}).get("Overrides", [])
    if not overrides:
        return target
    weight = str(overrides[0].get("WeightedCapacity", "1"))
    weight = int(weight) if weight.isdigit() and int(weight) > 0 else 1
    distribution = policy.get("InstancesDistribution", {})
    base = int(distribution.get("OnDemandBaseCapacity", 0))
    percent = int(distribution.get("OnDemandPercentageAboveBaseCapacity", 100))
    if base >= target:
        on_demand, spot = target, 0
    else:
        above = int((target - base) * percent) / 100.0
        on_demand, spot = int(base + above), int(target - base - above)
    return -(-on_demand // weight) + -(-spot // weight)


def launch(group, count, before):
    known = {id(s) for s in group.instance_states}
    group.replace_autoscaling_group_instances(count, group.get_propagated_tags())
    at = f"{utcnow():%Y-%m-%dT%H:%M:%SZ}"
    for state in [s for s in group.instance_states if id(s) not in known]:
        state.lifecycle_state = "Pending"
        instance = state.instance
        state._launch = record_activity(
            group,
            f"Launching a new EC2 instance: {instance.id}",
            f"At {at} an instance was started in response to a difference between desired and "
            f"actual capacity, increasing the capacity from {before} to {group.desired_capacity}.",
            details={"Subnet ID": instance.subnet_id, "Availability Zone": instance.placement.zone},
        )
        later(scaled(BOOT_SECONDS), functools.partial(in_service, group, state))


def in_service(group, state):
    """End of Pending: registered with the group's target groups, then
    InService."""
    if state not in group.instance_states or state.lifecycle_state != "Pending":
        return  # scaled in or detached while it booted
    register_with_target_groups(group, [state])
    state.lifecycle_state = "InService"
    finish_activity(getattr(state, "_launch", None))
    _refresh_classic_elbs(group)


def retire(group, state, before, wanted):
    """Scale in: Terminating, deregistered (draining), then terminated."""
    if state.lifecycle_state == "Pending":
        finish_activity(getattr(state, "_launch", None))
    state.lifecycle_state = "Terminating"
    drain = deregister_from_target_groups(group, [state])
    at = f"{utcnow():%Y-%m-%dT%H:%M:%SZ}"
    activity = record_activity(
        group,
        f"Terminating EC2 instance: {state.instance.id}",
        f"At {at} an instance was taken out of service in response to a difference between "
        f"desired and actual capacity, shrinking the capacity from {before} to {wanted}.  "
        f"At {at} instance {state.instance.id} was selected for termination.",
        status="WaitingForELBConnectionDraining" if drain > 0 else "InProgress",
        details={"Subnet ID": state.instance.subnet_id,
                 "Availability Zone": state.instance.placement.zone},
    )
    later(drain, functools.partial(terminated, group, state, activity))


def terminated(group, state, activity):
    if state in group.instance_states:
        group.instance_states.remove(state)
    state.lifecycle_state = "Terminated"
    if state.instance.state != "terminated":
        try:
            group.autoscaling_backend.ec2_backend.terminate_instances([state.instance.id])
        except Exception:  # the backend was reset meanwhile
            pass
    finish_activity(activity)
    _refresh_classic_elbs(group)


def _refresh_classic_elbs(group):
    backend = group.autoscaling_backend
    if backend.autoscaling_groups.get(group.name) is group:
        backend.update_attached_elbs(group.name)


def failed_launch(group, before):
    """A scaling activity that could not launch, as AWS words it."""
    now = utcnow()
    reason = f"The image id '[{group.image_id}]' does not exist. Launching EC2 instance failed."
    activity = record_activity(
        group,
        "Launching a new EC2 instance.  Status Reason: " + reason,
        (f"At {now:%Y-%m-%dT%H:%M:%SZ} an instance was started in response to a difference "
         f"between desired and actual capacity, increasing the capacity from "
         f"{before} to {group.desired_capacity}."),
    )
    activity["_failed"] = True
    finish_activity(activity, "Failed", reason)


def _deferring(handler):
    def wrapper(self):
        _tls.defer = True
        try:
            return handler(self)
        finally:
            _tls.defer = False

    return wrapper


asm.FakeAutoScalingGroup.set_desired_capacity = _set_desired
for _name in ("create_auto_scaling_group", "update_auto_scaling_group", "set_desired_capacity"):
    setattr(AutoScalingResponse, _name, _deferring(getattr(AutoScalingResponse, _name)))


# An instance terminated through EC2 leaves its group; Auto Scaling notices
# and launches a replacement, which boots like any other (User Guide,
# "Health checks for instances in an Auto Scaling group"). moto replaces it
# at once, InService and in no target group.
def _notify_terminate_instances(self, instance_ids):
    at = f"{utcnow():%Y-%m-%dT%H:%M:%SZ}"
    for group in list(self.autoscaling_groups.values()):
        gone = [s for s in group.instance_states if s.instance.id in instance_ids]
        for state in gone:
            group.instance_states.remove(state)
            if state.lifecycle_state == "Pending":
                finish_activity(getattr(state, "_launch", None))
            state.lifecycle_state = "Terminated"
            finish_activity(record_activity(
                group,
                f"Terminating EC2 instance: {state.instance.id}",
                f"At {at} an instance was taken out of service in response to an EC2 health check "
                f"indicating it has been terminated or stopped.",
            ))
        if gone:
            if ASG_DELAY > 0:
                scaling_activity(group, ASG_DELAY)
            else:
                converge(group)


asm.AutoScalingBackend.notify_terminate_instances = _notify_terminate_instances

# ------------------------------------------------ scaling activities
# DescribeScalingActivities (Auto Scaling API Reference): "Activities are
# sorted by start time. Activities still in progress are described first";
# MaxRecords "The default value is 100 and the maximum value is 100", more
# in pages through NextToken; AutoScalingGroupName and ActivityIds filter;
# activities of deleted groups only with IncludeDeletedGroups. StatusCode
# and the Description/Cause wording are AWS's (ScalingActivityStatusCode;
# User Guide, "Verify a scaling activity for an Auto Scaling group").
ACTIVITIES: list = []  # oldest first; private keys (a leading _) not answered
FINAL = ("Successful", "Failed", "Cancelled")
_SEQ = itertools.count()


def record_activity(group, description, cause, status="InProgress", details=None):
    activity = {
        "ActivityId": str(uuid.uuid4()),
        "AutoScalingGroupName": group.name,
        "AutoScalingGroupARN": group.arn,
        "Description": description,
        "Cause": cause,
        "StartTime": utcnow(),
        "StatusCode": status,
        "Progress": 0,
        "Details": json.dumps(details or {}),
        "_group": group,
        "_seq": next(_SEQ),
    }
    ACTIVITIES.append(activity)
    return activity


def finish_activity(activity, status="Successful", message=None):
    if activity is None or activity["StatusCode"] in FINAL:
        return
    activity.update(StatusCode=status, Progress=100, EndTime=utcnow())
    if message:
        activity["StatusMessage"] = message


def _describe_scaling_activities(self):
    backend = self.autoscaling_backend
    name = self._get_param("AutoScalingGroupName")
    ids = self._get_param("ActivityIds") or []
    deleted_too = self._get_bool_param("IncludeDeletedGroups", False)
    size = min(self._get_int_param("MaxRecords") or 100, 100)
    token = self._get_param("NextToken")

    def shown(activity):
        group = activity["_group"]
        if group.autoscaling_backend is not backend:
            return False
        if name and activity["AutoScalingGroupName"] != name:
            return False
        if ids and activity["ActivityId"] not in ids:
            return False
        return deleted_too or backend.autoscaling_groups.get(group.name) is group

    with LOCK:
        found = sorted((a for a in ACTIVITIES if shown(a)),
                       key=lambda a: (a["StatusCode"] in FINAL, -a["_seq"]))
        found = [{k: v for k, v in a.items() if not k.startswith("_")} for a in found]
    start = 0
    if token:
        if not token.isdigit() or int(token) > len(found):
            raise AutoscalingClientError("InvalidNextToken", "The NextToken value is not valid.")
        start = int(token)
    answer = {"Activities": found[start:start + size]}
    if start + size < len(found):
        answer["NextToken"] = str(start + size)
    return ActionResult(answer)


AutoScalingResponse.describe_scaling_activities = _describe_scaling_activities

# ------------------------------------- DefaultInstanceWarmup
# moto drops a group's DefaultInstanceWarmup; AWS keeps it and describes it.
def _keeping_warmup(original):
    def call(self):
        out = original(self)
        warmup = self._get_int_param("DefaultInstanceWarmup")
        if warmup is not None:
            group = self.autoscaling_backend.autoscaling_groups.get(
                self._get_param("AutoScalingGroupName")
            )
            if group is not None:
                group.default_instance_warmup = warmup
        return out

    return call


AutoScalingResponse.create_auto_scaling_group = _keeping_warmup(
    AutoScalingResponse.create_auto_scaling_group
)
AutoScalingResponse.update_auto_scaling_group = _keeping_warmup(
    AutoScalingResponse.update_auto_scaling_group
)

# ------------------------------------- the version each instance came from
_orig_replace = asm.FakeAutoScalingGroup.replace_autoscaling_group_instances


def _replace(self, count_needed, propagated_tags):
    known = {id(s) for s in self.instance_states}
    _orig_replace(self, count_needed, propagated_tags)
    if self.ec2_launch_template is None:
        return
    number = str(self.ec2_launch_template.get_version(self.launch_template_version).number)
    for s in self.instance_states:
        if id(s) not in known:
            s.launched_version = number
            s.instance.add_tags({"aws:ec2launchtemplate:version": number})


asm.FakeAutoScalingGroup.replace_autoscaling_group_instances = _replace
_orig_instance_template = asm.InstanceState.launch_template.fget


def _instance_template(self):
    template = _orig_instance_template(self)
    if template is not None and getattr(self, "launched_version", None):
        template["Version"] = self.launched_version
    return template


asm.InstanceState.launch_template = property(_instance_template)

# moto keeps a new version's UserData as text and fails (500) at the next
# scale-out; AWS takes it.
_orig_create_version = LaunchTemplate.create_version


def _create_version(self, data, description):
    if isinstance(data.get("UserData"), (str, bytes)):
        data["UserData"] = parse_user_data(data["UserData"])
    return _orig_create_version(self, data, description)


LaunchTemplate.create_version = _create_version

# ------------------------------------- launch templates answer in pages
# AWS pages DescribeLaunchTemplates and DescribeLaunchTemplateVersions with
# NextToken (MaxResults up to 200; an unset MaxResults answers everything the
# filters match, in pages). moto cuts the answer at MaxResults (15 when
# unset) and says nothing of the rest, so a caller that reads many templates
# would silently see only the first 15.
from moto.ec2.responses.launch_templates import LaunchTemplates as _LtResponses


def _paged(name, key):
    original = getattr(_LtResponses, name)

    def paged(self):
        size = self._get_int_param("MaxResults") or 200
        start = int(self._get_param("NextToken") or 0)
        if self.automated_parameter_parsing:
            self.params["MaxResults"] = 1000000
        else:
            self.querystring["MaxResults"] = ["1000000"]
        answer = original(self)
        items = answer.result[key]
        answer.result[key] = items[start:start + size]
        if start + size < len(items):
            answer.result["NextToken"] = str(start + size)
        return answer

    setattr(_LtResponses, name, paged)


_paged("describe_launch_templates", "LaunchTemplates")
_paged("describe_launch_template_versions", "LaunchTemplateVersions")

# ------------------------------------- ClientToken idempotency
# EC2 (Amazon EC2 Developer Guide, "Ensuring idempotency in Amazon EC2 API
# requests"; ClientToken of CreateLaunchTemplate and
# CreateLaunchTemplateVersion in the EC2 API Reference): a retry "using the
# same client token and the same parameters ... succeeds without performing
# any further actions" and answers as the first call did; the same token
# with "one or more of the parameters ... different" fails with
# IdempotentParameterMismatch. Only a call that succeeded binds its token;
# tokens are kept per operation (and account and Region). moto ignores the
# token: the same token made version 2, then 3.
TOKENS: dict = {}
MISMATCH = ("Arguments on this idempotent request are inconsistent with arguments used in "
            "previous request(s).")


def _parameters(response):
    """The request's parameters, ClientToken left out, comparable."""
    raw = getattr(response, "querystring", None) or response.params
    return json.dumps({k: v for k, v in raw.items()
                       if k not in ("ClientToken", "Action", "Version")},
                      sort_keys=True, default=str)


def _idempotent(name):
    original = getattr(_LtResponses, name)

    def call(self):
        token = self._get_param("ClientToken")
        if not token:
            return original(self)
        key = (self.current_account, self.region, name, token)
        asked = _parameters(self)
        with LOCK:
            if key in TOKENS:
                made_with, answer = TOKENS[key]
                if made_with != asked:
                    raise EC2ClientError("IdempotentParameterMismatch", MISMATCH)
                return answer
            answer = original(self)
            TOKENS[key] = (asked, answer)
            return answer

    setattr(_LtResponses, name, call)


_idempotent("create_launch_template")
_idempotent("create_launch_template_version")

# ------------------------------------- creates with the same settings
# The ELBv2 API Reference says of CreateTargetGroup and of CreateListener:
# "This operation is idempotent ... If you attempt to create multiple target
# groups [listeners] with the same settings, each call succeeds." Other
# settings under a taken name are DuplicateTargetGroupName ("A target group
# with the specified name already exists"); another listener on a taken
# port is DuplicateListener ("A listener with the specified port already
# exists"). moto refuses every second target group of a name and makes a
# second listener on the same port. Every setting is compared, as the new
# resource would have it (a setting left out is its default).
from moto.elbv2.exceptions import DuplicateListenerError, DuplicateTargetGroupName
from moto.elbv2.models import ELBv2Backend, FakeAction
from moto.elbv2.responses import ELBV2Response

TARGET_GROUP_SETTINGS = (
    "protocol", "port", "vpc_id", "target_type", "protocol_version", "ip_address_type",
    "health_check_enabled", "health_check_protocol", "health_check_port", "health_check_path",
    "health_check_interval_seconds", "health_check_timeout_seconds",
    "healthy_threshold_count", "unhealthy_threshold_count", "matcher",
)
_orig_create_target_group = ELBv2Backend.create_target_group


def _settings(tg):
    return {k: json.dumps(getattr(tg, k, None), sort_keys=True, default=str).strip('"')
            for k in TARGET_GROUP_SETTINGS}


def _create_target_group(self, name, **kwargs):
    if isinstance(kwargs.get("healthcheck_enabled"), bool):
        # moto reads only the strings "true"/"false": HealthCheckEnabled
        # false, parsed to a bool, made a group with health checks on.
        kwargs["healthcheck_enabled"] = str(kwargs["healthcheck_enabled"]).lower()
    existing = next((tg for tg in self.target_groups.values() if tg.name == name), None)
    if existing is None:
        return _orig_create_target_group(self, name, **kwargs)
    # The group this call would make (moto's defaults and validation),
    # under a stand-in name, then forgotten.
    asked = dict(kwargs, tags=None)
    probe = _orig_create_target_group(self, "cutover-settings-probe", **asked)
    del self.target_groups[probe.arn]
    type(probe).instances_tracked.remove(probe)
    if _settings(probe) != _settings(existing):
        raise DuplicateTargetGroupName()
    return existing


ELBv2Backend.create_target_group = _create_target_group
_orig_create_listener = ELBv2Backend.create_listener


def _create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions,
                     alpn_policy=None, tags=None):
    balancer = self.load_balancers.get(load_balancer_arn)
    for listener in (balancer.listeners.values() if balancer else []):
        if str(listener.port) != str(port):
            continue
        same = (listener.protocol == (protocol or "").upper()
                and listener.ssl_policy == ssl_policy
                and listener.certificate == certificate
                and list(listener.alpn_policy or []) == list(alpn_policy or [])
                and [a.data for a in listener.default_actions] == [FakeAction(a).data for a in actions])
        if same:
            return listener
        raise DuplicateListenerError()
    return _orig_create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate,
                                 actions, alpn_policy, tags)


ELBv2Backend.create_listener = _create_listener

# ------------------------------------- target health
# DescribeTargetHealth as ELBv2 answers it (Elastic Load Balancing API
# Reference, TargetHealth; Application Load Balancers User Guide, "Health
# checks for Application Load Balancer target groups" and "Deregistration
# delay"):
# * A target just registered is `initial` until it has passed
#   HealthyThresholdCount health checks, HealthCheckIntervalSeconds apart
#   (the group's settings at the time of asking), scaled. Reason
#   Elb.RegistrationInProgress ("The target is in the process of being
#   registered") for the first interval, then Elb.InitialHealthChecking
#   ("still sending the target the minimum number of health checks"); after
#   that, what moto says (healthy; unused / Target.InvalidState if stopped).
# * A deregistered target "is draining" with Target.DeregistrationInProgress
#   until the group's deregistration_delay.timeout_seconds (default 300),
#   scaled, has passed; then the deregistration completes and it is no
#   longer listed (asked for by id: unused / Target.NotRegistered).
# * DeregisterTargets: "If the specified target does not exist, the action
#   returns successfully" (API Reference, DeregisterTargets): a target not
#   registered, or already draining, is left as it is. moto answers
#   InvalidTarget.
# The state lives on moto's target group, so every path (the API, Auto
# Scaling registering or deregistering, EC2 terminating) agrees. Its
# bookkeeping is private (names starting with _), so moto's data.json
# shows none of it.
def _book(tg):
    """(registration times, draining targets) of a target group."""
    if "_registered_at" not in tg.__dict__:
        tg._registered_at, tg._draining = {}, {}
    return tg._registered_at, tg._draining


def deregistration_delay(tg):
    return float(tg.attributes.get("deregistration_delay.timeout_seconds", 300))


def initial_checks(tg):
    """(one health check interval, HealthyThresholdCount of them), scaled,
    with the group's settings now."""
    interval = float(tg.health_check_interval_seconds or 30)
    return scaled(interval), scaled(interval * float(tg.healthy_threshold_count or 5))


def draining_targets(tg):
    """Target id -> target of the group's draining targets; forgets those
    whose delay has passed."""
    _, draining = _book(tg)
    now = time.monotonic()
    for target_id in [t for t, (_, until) in draining.items() if until <= now]:
        del draining[target_id]
    return {t: target for t, (target, _) in draining.items() if t not in tg.targets}


_orig_register = FakeTargetGroup.register
_orig_health_for = FakeTargetGroup.health_for


def _register(self, targets):
    registered_at, draining = _book(self)
    fresh = [t["Id"] for t in targets if t["Id"] not in self.targets]
    _orig_register(self, targets)
    now = time.monotonic()
    for target_id in fresh:
        registered_at[target_id] = now
        draining.pop(target_id, None)
        self.terminated_targets.pop(target_id, None)


def _deregister(self, targets):
    registered_at, draining = _book(self)
    until = time.monotonic() + scaled(deregistration_delay(self))
    for target in targets:
        current = self.targets.pop(target["Id"], None)
        if current is None:
            continue  # not registered, or draining already: AWS answers success
        registered_at.pop(target["Id"], None)
        self.deregistered_targets[target["Id"]] = current
        draining[target["Id"]] = (current, until)


def _deregister_terminated(self, instance_ids):
    # A terminated instance is deregistered, and drains like any other.
    self.deregister([{"Id": i} for i in instance_ids if i in self.targets])


def _health_for(self, target, ec2_backend):
    target_id = target["Id"]
    draining = draining_targets(self)
    if target_id in draining:
        return FakeHealthStatus(target_id, draining[target_id]["Port"], self.health_check_port,
                                "draining", "Target.DeregistrationInProgress",
                                "Target deregistration is in progress")
    found = _orig_health_for(self, target, ec2_backend)
    since = _book(self)[0].get(target_id)
    if found.status != "healthy" or since is None or not self.health_check_enabled:
        return found
    first, whole = initial_checks(self)
    elapsed = time.monotonic() - since
    if elapsed >= whole:
        return found
    if elapsed < first:
        reason, description = "Elb.RegistrationInProgress", "Target registration is in progress"
    else:
        reason, description = "Elb.InitialHealthChecking", "Initial health checks in progress"
    return FakeHealthStatus(target_id, found.port, self.health_check_port, "initial", reason,
                            description)


def settle(tg):
    """Forgets the registration times of targets already past their initial
    checks, so that a later change of the health check settings does not
    send a healthy target back to initial."""
    registered_at, _ = _book(tg)
    now = time.monotonic()
    _, whole = initial_checks(tg)
    for target_id in [t for t, since in registered_at.items() if now - since >= whole]:
        del registered_at[target_id]


_orig_modify_target_group = ELBv2Backend.modify_target_group


def _modify_target_group(self, arn, *args, **kwargs):
    if arn in self.target_groups:
        settle(self.target_groups[arn])
    return _orig_modify_target_group(self, arn, *args, **kwargs)


def _describe_target_health(self, target_group_arn, targets):
    tg = self.target_groups.get(target_group_arn)
    if tg is None:
        raise TargetGroupNotFoundError()
    if not targets:
        # Draining targets are listed too, after the registered ones.
        targets = list(tg.targets.values()) + list(draining_targets(tg).values())
    return [tg.health_for(t, self.ec2_backend) for t in targets]


FakeTargetGroup.register = _register
FakeTargetGroup.deregister = _deregister
FakeTargetGroup.deregister_terminated_instances = _deregister_terminated
FakeTargetGroup.health_for = _health_for
ELBv2Backend.describe_target_health = _describe_target_health
ELBv2Backend.modify_target_group = _modify_target_group

# ------------------------------------- Auto Scaling and target groups
# Auto Scaling registers an instance with the group's target groups at the
# end of Pending (see above; moto registers every instance of the group at
# each change, Terminating ones too) and deregisters instances that leave:
# scaled in, detached (DetachInstances: "If there is a Classic Load Balancer
# attached ... the instances are deregistered from the load balancer. If
# there are target groups attached ..., the instances are deregistered from
# the target groups", Auto Scaling API Reference), or with a detached target
# group (DetachLoadBalancerTargetGroups: "it enters the Removing state while
# deregistering the instances in the group. When all instances are
# deregistered, then you can no longer describe the target group using the
# DescribeLoadBalancerTargetGroups API call"). DetachLoadBalancerTargetGroups
# documents no error for a target group that is not attached (only
# ResourceContentionFault): it changes nothing then. moto deregisters the
# group's instances from whatever target group is named. A target group's
# state in DescribeLoadBalancerTargetGroups (LoadBalancerTargetGroupState):
# Added, InService once an instance passed an ELB health check (ELB health
# check type), Removing while draining; moto always says Added.
REMOVING: dict = {}  # (group, target group ARN) -> monotonic time it is removed


def register_with_target_groups(group, states):
    elbv2 = group.autoscaling_backend.elbv2_backend
    for arn in group.target_group_arns:
        tg = elbv2.target_groups.get(arn)
        for state in (states if tg is not None else []):
            try:
                tg.register([{"Id": state.instance.id, "Port": tg.port}])
            except ELBClientError:
                pass  # stopped or terminated meanwhile: not registered


def deregister_from_target_groups(group, states, arns=None):
    """Deregisters `states` from the group's target groups (or `arns`);
    returns the longest deregistration delay, scaled, among those they
    were registered with (0 if none)."""
    elbv2 = group.autoscaling_backend.elbv2_backend
    longest = 0.0
    for arn in (group.target_group_arns if arns is None else arns):
        tg = elbv2.target_groups.get(arn)
        ids = [s.instance.id for s in states if tg is not None and s.instance.id in tg.targets]
        if ids:
            tg.deregister([{"Id": i} for i in ids])
            longest = max(longest, scaled(deregistration_delay(tg)))
    return longest


def _update_attached_target_groups(self, group_name):
    group = self.autoscaling_groups[group_name]
    if not group.target_group_arns:
        return
    # moto's check that the target groups exist (TargetGroupNotFound).
    self.elbv2_backend.describe_target_groups(
        target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None)
    register_with_target_groups(
        group, [s for s in group.instance_states if s.lifecycle_state == "InService"])


_orig_detach_instances = asm.AutoScalingBackend.detach_instances


def _detach_instances(self, group_name, instance_ids, should_decrement):
    group = self.autoscaling_groups[group_name]
    deregister_from_target_groups(
        group, [s for s in group.instance_states if s.instance.id in instance_ids])
    return _orig_detach_instances(self, group_name, instance_ids, should_decrement)


def _detach_load_balancer_target_groups(self, group_name, target_group_arns):
    group = self.autoscaling_groups[group_name]
    attached = [a for a in target_group_arns if a in group.target_group_arns]
    group.target_group_arns = [a for a in group.target_group_arns if a not in attached]
    for arn in attached:
        drain = deregister_from_target_groups(group, group.instance_states, [arn])
        REMOVING[(group, arn)] = time.monotonic() + drain


def _describe_load_balancer_target_groups(original):
    def call(self):
        answer = original(self)
        group = self.autoscaling_backend.autoscaling_groups.get(
            self._get_param("AutoScalingGroupName"))
        if group is None:
            return answer
        elbv2 = self.autoscaling_backend.elbv2_backend
        ids = {s.instance.id for s in group.instance_states}
        for entry in answer.result["LoadBalancerTargetGroups"]:
            tg = elbv2.target_groups.get(entry["LoadBalancerTargetGroupARN"])
            if tg is not None and group.health_check_type == "ELB" and any(
                    d.status == "healthy" for d in elbv2.describe_target_health(tg.arn, [])
                    if d.instance_id in ids):
                entry["State"] = "InService"
        now = time.monotonic()
        for (removed_from, arn), until in list(REMOVING.items()):
            if until <= now:
                del REMOVING[(removed_from, arn)]
            elif removed_from is group and arn not in group.target_group_arns:
                answer.result["LoadBalancerTargetGroups"].append(
                    {"LoadBalancerTargetGroupARN": arn, "State": "Removing"})
        return answer

    return call


asm.AutoScalingBackend.update_attached_target_groups = _update_attached_target_groups
asm.AutoScalingBackend.detach_instances = _detach_instances
asm.AutoScalingBackend.detach_load_balancer_target_groups = _detach_load_balancer_target_groups
AutoScalingResponse.describe_load_balancer_target_groups = _describe_load_balancer_target_groups(
    AutoScalingResponse.describe_load_balancer_target_groups)

# ------------------------------------------ answers that show another view
class ShownAs(ActionResult):
    """An answer serialized while some attributes of moto's objects show
    other values: [(object, attribute, value)]. moto serializes an answer
    after its handler has returned, so what a handler sets and undoes
    itself never shows; this lasts just the serialization (under LOCK, like
    the whole request), and moto's state, data.json included, is the same
    before and after."""

    def __init__(self, answer, shown):
        super().__init__(answer.result)
        self.shown = shown

    def execute_result(self, context):
        kept = [(o, a, getattr(o, a)) for o, a, _ in self.shown]
        try:
            for o, a, v in self.shown:
                setattr(o, a, v)
            return super().execute_result(context)
        finally:
            for o, a, v in reversed(kept):
                setattr(o, a, v)


# ------------------------------------------ listener reads that lag writes
# ELBv2's describes are eventually consistent: for a moment after
# ModifyListener, DescribeListeners may still show the actions before it.
# Only the API answer lags; moto's own reads see the listener as it is.
STALE_LISTENER_SECS = 0.0
STALE: dict = {}
_orig_modify_listener = ELBv2Backend.modify_listener


def _modify_listener(self, arn, *args, **kwargs):
    before = None
    for lb in self.load_balancers.values():
        if arn in lb.listeners:
            before = list(lb.listeners[arn].default_actions)
    out = _orig_modify_listener(self, arn, *args, **kwargs)
    if before is not None:
        STALE[arn] = (before, time.monotonic())
    return out


def _describe_listeners_answer(original):
    def call(self):
        answer = original(self)
        if STALE_LISTENER_SECS <= 0:
            return answer
        now = time.monotonic()
        lagging = [(listener, "default_actions", STALE[listener.arn][0])
                   for listener in answer.result["Listeners"]
                   if listener.arn in STALE and now - STALE[listener.arn][1] < STALE_LISTENER_SECS]
        return ShownAs(answer, lagging)
    return call


def _routing(backend):
    """Target group ARN -> the load balancers whose listeners or rules
    forward to it now."""
    used = {}
    for lb in backend.load_balancers.values():
        for listener in lb.listeners.values():
            actions = list(listener.default_actions)
            for rule in listener.rules.values():
                actions.extend(rule.actions)
            for action in actions:
                if action.type == "forward":
                    for arn in backend._get_target_group_arns_from(action_data=action.data):
                        used.setdefault(arn, set()).add(lb.arn)
    return used


def _describe_target_groups_answer(original):
    """LoadBalancerArns as AWS reports them: the load balancers whose
    listeners or rules forward to the group now (moto adds one at each
    create, never takes it away, and misses a modify). Shown in the answer
    only: moto's state is as it was after the call. (Until this used
    ShownAs, the view was undone before moto serialized the answer, so
    moto's own list showed.)"""
    def call(self):
        answer = original(self)
        used = _routing(self.elbv2_backend)
        return ShownAs(answer, [(tg, "load_balancer_arns", sorted(used.get(tg.arn, ())))
                                for tg in answer.result["TargetGroups"]])
    return call


ELBV2Response.describe_target_groups = _describe_target_groups_answer(
    ELBV2Response.describe_target_groups
)
ELBv2Backend.modify_listener = _modify_listener
ELBV2Response.describe_listeners = _describe_listeners_answer(ELBV2Response.describe_listeners)

# ------------------------------------------------------------ the faults
WRITES = ("Create", "Update", "Put", "Delete", "Set", "Modify", "Register", "Deregister",
          "Attach", "Detach", "Terminate", "Run", "Add", "Remove")


def operation(environ, body):
    """(service, operation) of a request, from its signature and body."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = None
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) == 5:
            service = {"elasticloadbalancing": "elbv2"}.get(scope[3], scope[3])
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        return service, form.get("Action", [None])[0]
    return service, None


def error(service, kind, action):
    """An error answer in the service's own format, as AWS sends it."""
    rid = str(uuid.uuid4())
    if kind == "throttle":
        code, msg, status = {
            "ec2": ("RequestLimitExceeded", "Request limit exceeded.", 503),
            "ssm": ("ThrottlingException", "Rate exceeded", 400),
        }.get(service, ("Throttling", "Rate exceeded", 400))
    elif kind == "deny":
        code, msg, status = {
            "ec2": ("UnauthorizedOperation", "You are not authorized to perform this operation.", 403),
            "ssm": ("AccessDeniedException",
                    f"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ssm:{action}", 400),
        }.get(service, ("AccessDenied",
                        f"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: {service}:{action}",
                        403))
    elif kind == "unseen":
        # A launch template made a moment ago, not yet visible (EC2 is
        # eventually consistent), as each service words it.
        code, msg, status = {
            "ec2": ("InvalidLaunchTemplateId.NotFound",
                    "The specified launch template, with template ID lt-0unseen, does not exist.", 400),
        }.get(service, ("ValidationError",
                        "You must use a valid fully-formed launch template. The specified launch "
                        "template, with template ID lt-0unseen, does not exist.", 400))
    else:
        code, msg, status = {
            "ec2": ("InternalError", "An internal error has occurred", 500),
            "ssm": ("InternalServerError", "Internal error", 500),
        }.get(service, ("InternalFailure", "Internal failure", 500))
    if service == "ssm":
        body = json.dumps({"__type": code, "message": msg})
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("X-Amzn-Errortype", code)]
    elif service == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{msg}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>")
        headers = [("Content-Type", "text/xml")]
    else:
        side = "Receiver" if status >= 500 else "Sender"
        body = (f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code><Message>{msg}</Message>"
                f"</Error><RequestId>{rid}</RequestId></ErrorResponse>")
        headers = [("Content-Type", "text/xml")]
    raw = body.encode()
    headers += [("x-amzn-RequestId", rid), ("Content-Length", str(len(raw)))]
    return f"{status} Fault", headers, raw


def draw(service, action, number, place):
    """The random number of a rule's rate for the `number`-th call of
    (service, action): keyed by the seed and the call, not by arrival order
    (a string seed goes through SHA-512, the same in every run)."""
    return random.Random(f"{SEED}/{service}/{action}/{number}/{place}").random()


def count_call(service, action):
    """Counts an API call; its sequence number among calls of its operation."""
    with LOCK:
        STATS["calls"] += 1
        key = f"{service}:{action}"
        CALLS[key] = CALLS.get(key, 0) + 1
        return CALLS[key]


def matching_rule(service, action, body, number):
    """The first rule that hits this call, counted; None when none does."""
    is_write = (action or "").startswith(WRITES)
    with LOCK:
        for place, rule in enumerate(RULES):
            if rule.get("service", "*") not in ("*", service):
                continue
            wanted = rule.get("action", "*")
            if wanted == "writes" and not is_write:
                continue
            if wanted not in ("*", "writes", action):
                continue
            if rule["kind"] == "deny" and not is_write and wanted != action:
                continue
            if rule.get("times") is not None and rule["times"] <= 0:
                continue
            if rule.get("body_contains") and rule["body_contains"] not in body.decode("utf-8", "replace"):
                continue
            if rule.get("first_of_each"):
                key = (service, action, body)
                if key in SEEN:
                    continue
                SEEN.add(key)
            elif draw(service, action, number, place) >= float(rule.get("rate", 1.0)):
                continue
            if rule.get("times") is not None:
                rule["times"] -= 1
            STATS["faults"][rule["kind"]] = STATS["faults"].get(rule["kind"], 0) + 1
            return rule
    return None


class Faults:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path.startswith("/_fault/"):
            return self.control(environ, path, body, start_response)
        rule = None
        if not path.startswith("/moto-api"):
            service, action = operation(environ, body)
            rule = matching_rule(service, action, body, count_call(service, action))
        kind = rule["kind"] if rule else None
        if kind == "latency":
            threading.Event().wait(float(rule.get("seconds", 1.0)))
        if kind in ("throttle", "500", "deny", "unseen"):
            status, headers, raw = error(service, kind, action)
            start_response(status, headers)
            return [raw]
        if kind == "reset":
            environ["fault.reset"] = True
            raise ConnectionResetError("injected reset")
        answer = {}

        def keep(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        with LOCK:
            out = b"".join(self.app(environ, keep))
        if kind == "hidden" and action == "DescribeLaunchTemplates":
            # EC2 is eventually consistent: a template that exists (a create
            # answered InvalidLaunchTemplateName.AlreadyExistsException) may
            # not be listed yet (EC2 API reference, "Eventual consistency in
            # the Amazon EC2 API").
            out = re.sub(rb"<launchTemplates>.*</launchTemplates>",
                         b"<launchTemplates/>", out, flags=re.S)
            answer["headers"] = [(k, str(len(out)) if k.lower() == "content-length" else v)
                                 for k, v in answer["headers"]]
        if kind == "hidden" and action == "DescribeTargetGroups":
            # ELBv2 is eventually consistent ("Eventual consistency" in the
            # ELBv2 API Reference), and a group someone makes after a read
            # is not in it: a group that exists is not listed.
            out = re.sub(rb"<TargetGroups>.*</TargetGroups>",
                         b"<TargetGroups/>", out, flags=re.S)
            answer["headers"] = [(k, str(len(out)) if k.lower() == "content-length" else v)
                                 for k, v in answer["headers"]]
        if kind == "drop":
            # moto carried the call out; the caller never hears of it.
            environ["fault.reset"] = True
            raise ConnectionResetError("injected lost answer")
        start_response(answer["status"], answer["headers"])
        return [out]

    def control(self, environ, path, body, start_response):
        global RULES
        out = b"ok"
        with LOCK:
            if path == "/_fault/rules":
                RULES = json.loads(body or b"[]")
                SEEN.clear()
            elif path == "/_fault/failing_images":
                FAILING_IMAGES.clear()
                FAILING_IMAGES.update(json.loads(body or b"[]"))
            elif path == "/_fault/reset":
                RULES = []
                SEEN.clear()
                FAILING_IMAGES.clear()
                ACTIVITIES[:] = [a for a in ACTIVITIES if not a.get("_failed")]
            elif path == "/_fault/stale_listener_secs":
                global STALE_LISTENER_SECS
                STALE_LISTENER_SECS = float(json.loads(body or b"0"))
            elif path == "/_fault/stats":
                out = json.dumps(STATS).encode()
            elif path == "/_fault/calls":
                out = json.dumps(CALLS, sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
        return [out]


class Handler(MotoRequestHandler):
    def run_wsgi(self):
        super().run_wsgi()
        if self.environ.get("fault.reset"):
            # Nothing was written: end the connection with a reset, not a
            # clean close, as a dropped connection looks to the caller.
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.server.resets.add(self.connection.fileno())


class Server(ThreadedWSGIServer):
    resets: set = set()

    def shutdown_request(self, request):
        if request.fileno() in self.resets:
            self.resets.discard(request.fileno())
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # An injected reset is not news.
        if not isinstance(sys.exc_info()[1], ConnectionResetError):
            super().handle_error(request, client_address)


def main():
    global ASG_DELAY, SEED, TIME_SCALE
    p = argparse.ArgumentParser()
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, default=0)
    p.add_argument("--asg-delay", type=float, default=0.0)
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="factor on every simulated AWS duration (0: instant)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.time_scale < 0:
        p.error("--time-scale must be 0 or more")
    ASG_DELAY = args.asg_delay
    TIME_SCALE = args.time_scale
    SEED = args.seed
    server = Server(args.host, args.port, Faults(DomainDispatcherApplication(create_backend_app)), Handler)
    print(f"PORT={server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
