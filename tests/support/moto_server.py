#!/usr/bin/env python3
"""moto, made to behave more like AWS, for cutover's tests.

Runs moto's server in this process and adds what moto does not do:

* Auto Scaling acts later than the call (``--asg-delay`` seconds): the
  desired capacity is stored at once, as AWS does, and a scaling activity
  carries it out afterwards; instances it removes leave their target groups
  (moto leaves them registered and healthy).
* Every instance reports the launch template version it was launched from,
  as AWS does (moto reports the template's current default version).
* A group keeps and describes its DefaultInstanceWarmup (moto drops it).
* A fault layer in front of moto, driven by rules the test posts:
  throttling in each service's own error format, 500s, connection resets,
  answers dropped after moto carried the call out, denied writes, latency.
* Launches of chosen images fail: the scaling activity fails with AWS's
  message and no instance starts (moto launches any image and always
  answers DescribeScalingActivities with an empty list).

Usage: moto_server.py [-H HOST] [-p PORT] [--asg-delay SECONDS] [--seed N]
Prints ``PORT=<n>`` once listening (``-p 0`` picks a free port).

Control endpoints (never faulted):
  POST /_fault/rules     a JSON list of rules; replaces the current ones
  POST /_fault/failing_images  a JSON list of image ids whose launches fail
  POST /_fault/reset     no rules, no failing images
  GET  /_fault/stats     {"faults": {kind: n}, "calls": n}

A rule: {
  "kind": "throttle" | "500" | "reset" | "drop" | "deny" | "latency"
          | "unseen" (a launch template just made is not found yet),
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
denied whether it reads or writes (a read-only role). Random rates come from ``--seed``, so a
failing run can be repeated.
"""
import argparse
import copy
import datetime
import io
import json
import random
import socket
import struct
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs

from werkzeug.serving import ThreadedWSGIServer

import moto.autoscaling.models as asm
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.ec2.models.launch_templates import LaunchTemplate
from moto.ec2.utils import parse_user_data
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
RANDOM = random.Random(0)
FAILING_IMAGES: set = set()
FAILED_ACTIVITIES: dict = {}
STATS = {"faults": {}, "calls": 0}

# ------------------------------------------------ Auto Scaling acts later
_tls = threading.local()
_orig_set = asm.FakeAutoScalingGroup.set_desired_capacity


def _deferred_set(self, new_capacity):
    if ASG_DELAY <= 0 or not getattr(_tls, "defer", False):
        return _orig_set(self, new_capacity)
    # The desired capacity shows at once; the instances follow.
    self.desired_capacity = self.min_size if new_capacity is None else new_capacity
    scaling_activity(self, ASG_DELAY)


def scaling_activity(group, delay):
    """Brings `group` to its desired capacity `delay` seconds from now."""

    def activity():
        with LOCK:
            backend = group.autoscaling_backend
            if backend.autoscaling_groups.get(group.name) is not group:
                return  # deleted, replaced, or the backend was reset
            before = {s.instance.id for s in group.instance_states}
            if group.desired_capacity > len(before) and group.image_id in FAILING_IMAGES:
                failed_launch(group)
                # Auto Scaling tries a failed launch again, on its own.
                scaling_activity(group, max(ASG_DELAY, 1.0) * 2)
                return
            # The latest desired capacity: N -> 0 -> N before the activity
            # runs keeps the instances, as on AWS.
            _orig_set(group, group.desired_capacity)
            gone = before - {s.instance.id for s in group.instance_states}
            if gone:
                backend.elbv2_backend.notify_terminate_instances(list(gone))

    timer = threading.Timer(delay, activity)
    timer.daemon = True
    timer.start()


asm.FakeAutoScalingGroup.set_desired_capacity = _deferred_set


def failed_launch(group):
    """A scaling activity that could not launch, as AWS words it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    reason = f"The image id '[{group.image_id}]' does not exist. Launching EC2 instance failed."
    FAILED_ACTIVITIES.setdefault(group.name, []).insert(0, {
        "ActivityId": str(uuid.uuid4()),
        "AutoScalingGroupName": group.name,
        "Description": "Launching a new EC2 instance.  Status Reason: " + reason,
        "Cause": (f"At {now:%Y-%m-%dT%H:%M:%SZ} an instance was started in response to a difference "
                  f"between desired and actual capacity, increasing the capacity from "
                  f"{len(group.instance_states)} to {group.desired_capacity}."),
        "StartTime": now,
        "EndTime": now,
        "StatusCode": "Failed",
        "StatusMessage": reason,
        "Progress": 100,
        "Details": "{}",
    })


def _deferring(handler):
    def wrapper(self):
        _tls.defer = True
        try:
            return handler(self)
        finally:
            _tls.defer = False

    return wrapper


for _name in ("create_auto_scaling_group", "update_auto_scaling_group", "set_desired_capacity"):
    setattr(AutoScalingResponse, _name, _deferring(getattr(AutoScalingResponse, _name)))


def _describe_scaling_activities(self):
    name = self._get_param("AutoScalingGroupName")
    with LOCK:
        found = [a for g, acts in FAILED_ACTIVITIES.items() if not name or g == name for a in acts]
    return ActionResult({"Activities": found})


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
# ------------------------------------- creates with the same settings
# AWS documents CreateTargetGroup and CreateListener as idempotent: the same
# settings again answer with the existing resource; only different ones are
# DuplicateTargetGroupName / DuplicateListener. moto refuses the first and
# makes a second listener on the same port.
from moto.elbv2.exceptions import DuplicateListenerError
from moto.elbv2.models import ELBv2Backend, FakeAction
from moto.elbv2.responses import ELBV2Response

_orig_create_target_group = ELBv2Backend.create_target_group


def _create_target_group(self, name, **kwargs):
    for tg in self.target_groups.values():
        if tg.name != name:
            continue
        same = (str(tg.port) == str(kwargs.get("port"))
                and tg.protocol == kwargs.get("protocol")
                and tg.vpc_id == kwargs.get("vpc_id")
                and tg.health_check_path == kwargs.get("healthcheck_path"))
        if same:
            return tg
    return _orig_create_target_group(self, name, **kwargs)


ELBv2Backend.create_target_group = _create_target_group
_orig_create_listener = ELBv2Backend.create_listener


def _create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions,
                     alpn_policy=None, tags=None):
    balancer = self.load_balancers.get(load_balancer_arn)
    for listener in (balancer.listeners.values() if balancer else []):
        if str(listener.port) != str(port):
            continue
        wanted = [FakeAction(a).data for a in actions]
        if listener.protocol == protocol and [a.data for a in listener.default_actions] == wanted:
            return listener
        raise DuplicateListenerError()
    return _orig_create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate,
                                 actions, alpn_policy, tags)


ELBv2Backend.create_listener = _create_listener

# ------------------------------------------ listener reads that lag writes
# ELBv2's describes are eventually consistent: for a moment after
# ModifyListener, DescribeListeners may still show the actions before it.
STALE_LISTENER_SECS = 0.0
STALE: dict = {}
VIEW = threading.local()
_orig_modify_listener = ELBv2Backend.modify_listener
_orig_describe_listeners = ELBv2Backend.describe_listeners


def _modify_listener(self, arn, *args, **kwargs):
    before = None
    for lb in self.load_balancers.values():
        if arn in lb.listeners:
            before = list(lb.listeners[arn].default_actions)
    out = _orig_modify_listener(self, arn, *args, **kwargs)
    if before is not None:
        STALE[arn] = (before, time.monotonic())
    return out


def _describe_listeners(self, load_balancer_arn, listener_arns):
    found = _orig_describe_listeners(self, load_balancer_arn, listener_arns)
    if not getattr(VIEW, "api", False) or STALE_LISTENER_SECS <= 0:
        return found
    shown = []
    for listener in found:
        lag = STALE.get(listener.arn)
        if lag and time.monotonic() - lag[1] < STALE_LISTENER_SECS:
            listener = copy.copy(listener)
            listener.default_actions = lag[0]
        shown.append(listener)
    return shown


def _api_view(original):
    def call(self):
        VIEW.api = True
        try:
            return original(self)
        finally:
            VIEW.api = False
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
    only: moto's state is as it was after the call."""
    def call(self):
        backend = self.elbv2_backend
        used = _routing(backend)
        kept = {arn: tg.load_balancer_arns for arn, tg in backend.target_groups.items()}
        try:
            for arn, tg in backend.target_groups.items():
                tg.load_balancer_arns = sorted(used.get(arn, ()))
            return original(self)
        finally:
            for arn, tg in backend.target_groups.items():
                tg.load_balancer_arns = kept.get(arn, tg.load_balancer_arns)
    return call


ELBV2Response.describe_target_groups = _describe_target_groups_answer(
    ELBV2Response.describe_target_groups
)
ELBv2Backend.modify_listener = _modify_listener
ELBv2Backend.describe_listeners = _describe_listeners
ELBV2Response.describe_listeners = _api_view(ELBV2Response.describe_listeners)

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


def matching_rule(service, action, body):
    """The first rule that hits this call, counted; None when none does."""
    is_write = (action or "").startswith(WRITES)
    with LOCK:
        for rule in RULES:
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
            elif RANDOM.random() >= float(rule.get("rate", 1.0)):
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
            with LOCK:
                STATS["calls"] += 1
            rule = matching_rule(service, action, body)
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
                FAILED_ACTIVITIES.clear()
            elif path == "/_fault/stale_listener_secs":
                global STALE_LISTENER_SECS
                STALE_LISTENER_SECS = float(json.loads(body or b"0"))
            elif path == "/_fault/stats":
                out = json.dumps(STATS).encode()
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
    global ASG_DELAY, RANDOM
    p = argparse.ArgumentParser()
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, default=0)
    p.add_argument("--asg-delay", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    ASG_DELAY = args.asg_delay
    RANDOM = random.Random(args.seed)
    server = Server(args.host, args.port, Faults(DomainDispatcherApplication(create_backend_app)), Handler)
    print(f"PORT={server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
