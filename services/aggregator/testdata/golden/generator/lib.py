"""Helpers that write Zeebe 8.8 exporter records (EVENTs only) the way the
engine produces them, and small constructors for expected documents.

Record side: each Part is one partition's log. Commands occupy positions but
are not exported (the Elasticsearch exporter indexes events only); the events
written while processing a command carry that command's position as
sourceRecordPosition.
"""
import base64
import datetime
import hashlib
import json
import os

BROKER = "8.8.0"


def iso(ms):
    if ms is None:
        return None
    d = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def b64(s):
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def md5b64(s):
    return base64.b64encode(hashlib.md5(s.encode("utf-8")).digest()).decode("ascii")


def jtext(v):
    """JSON text of a variable value, as Zeebe writes it inside a string."""
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


class Fixture:
    def __init__(self, name):
        self.name = name
        self.lines = []
        self.expected = {}

    def part(self, pid, pos0, ctr0, ts0):
        return Part(self, pid, pos0, ctr0, ts0)

    def expect(self, family, id_, doc):
        k = "%s/%s" % (family, id_)
        assert k not in self.expected, k
        self.expected[k] = doc

    def write(self, outdir):
        # positions strictly increase per partition
        last = {}
        for r in self.lines:
            p = r["partitionId"]
            assert r["position"] > last.get(p, 0), (self.name, r["position"])
            last[p] = r["position"]
        with open(os.path.join(outdir, self.name + ".ndjson"), "w") as f:
            for r in self.lines:
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        with open(os.path.join(outdir, self.name + ".expected.json"), "w") as f:
            json.dump(dict(sorted(self.expected.items())), f, ensure_ascii=False, indent=2)
            f.write("\n")


class Rec:
    def __init__(self, pos, ts, key):
        self.pos, self.ts, self.key = pos, ts, key


class Part:
    def __init__(self, fx, pid, pos0, ctr0, ts0):
        self.fx, self.pid, self.pos, self.ctr, self.ts = fx, pid, pos0, ctr0, ts0
        self.src = -1

    def key(self):
        self.ctr += 1
        return (self.pid << 51) + self.ctr

    def command(self, dt=0):
        """A command is appended (by a client or as a follow-up) and processed."""
        self.ts += dt
        self.pos += 1
        self.src = self.pos
        return self.pos

    def ev(self, vt, intent, key, value, auth=None):
        self.pos += 1
        rec = {
            "partitionId": self.pid,
            "value": value,
            "rejectionType": "NULL_VAL",
            "rejectionReason": "",
            "sourceRecordPosition": self.src,
            "key": key,
            "timestamp": self.ts,
            "position": self.pos,
            "valueType": vt,
            "intent": intent,
            "recordType": "EVENT",
            "brokerVersion": BROKER,
            "recordVersion": 1,
            "operationReference": -1,
            "batchOperationReference": -1,
            "authorizations": auth if auth is not None else {},
        }
        self.fx.lines.append(rec)
        return Rec(self.pos, self.ts, key)


# ---------------------------------------------------------------- definitions


class Proc:
    def __init__(self, bpmn_id, key, version, xml, resource_name, version_tag="", call_ids=(), deployment_key=-1,
                 tenant="<default>"):
        self.id, self.key, self.version, self.xml = bpmn_id, key, version, xml
        self.tenant = tenant
        self.resource_name, self.version_tag = resource_name, version_tag
        self.call_ids = sorted(call_ids)
        self.deployment_key = deployment_key

    def value(self, with_resource=True):
        return {
            "bpmnProcessId": self.id,
            "version": self.version,
            "processDefinitionKey": self.key,
            "resourceName": self.resource_name,
            "checksum": md5b64(self.xml) if with_resource else "",
            "resource": b64(self.xml) if with_resource else "",
            "duplicate": False,
            "tenantId": self.tenant,
            "deploymentKey": self.deployment_key,
            "versionTag": self.version_tag,
        }


def process_created(part, proc):
    """PROCESS CREATED (the key of the record is the definition key)."""
    return part.ev("PROCESS", "CREATED", proc.key, proc.value())


def deployment_created(part, key, procs, resources, drgs=(), decisions=(), forms=()):
    return part.ev("DEPLOYMENT", "CREATED", key, {
        "resources": [{"resourceName": n, "resource": b64(x)} for n, x in resources],
        "processesMetadata": [{
            "bpmnProcessId": p.id, "version": p.version, "processDefinitionKey": p.key,
            "resourceName": p.resource_name, "checksum": md5b64(p.xml), "duplicate": False,
            "tenantId": "<default>", "deploymentKey": key, "versionTag": p.version_tag} for p in procs],
        "decisionRequirementsMetadata": list(drgs),
        "decisionsMetadata": list(decisions),
        "formMetadata": list(forms),
        "resourceMetadata": [],
        "tenantId": "<default>",
        "deploymentKey": key,
    })


# ----------------------------------------------------------- process instances


class PI:
    def __init__(self, part, proc, key=None, parent=None, call_el=None, tenant="<default>"):
        self.part, self.proc = part, proc
        self.key = key if key is not None else part.key()
        self.parent, self.call_el, self.tenant = parent, call_el, tenant
        self.el = El(self, proc.id, "PROCESS", key=self.key, is_process=True)

    @property
    def root(self):
        return self.parent.root if self.parent else self

    def ancestors(self):
        """(eip, pdp, cep) of the calling chain above this instance."""
        if not self.parent:
            return [], [], []
        eip, pdp, cep = self.parent.ancestors()
        idx = self.parent.proc.call_ids.index(self.call_el.id)
        return eip + [self.call_el.chain()], pdp + [self.parent.proc.key], cep + [idx]


class El:
    def __init__(self, pi, eid, typ, scope=None, key=None, event_type="UNSPECIFIED", is_process=False):
        self.pi, self.id, self.type, self.scope = pi, eid, typ, scope
        self.key = key if key is not None else pi.part.key()
        self.event_type, self.is_process = event_type, is_process
        self.pos, self.ts = {}, {}

    def flow_scope_key(self):
        if self.is_process:
            return -1
        return self.scope.key if self.scope else self.pi.key

    def chain(self):
        if self.is_process:
            return [self.pi.key]
        up = self.scope.chain() if self.scope else [self.pi.key]
        return up + [self.key]

    def paths(self):
        eip, pdp, cep = self.pi.ancestors()
        return eip + [self.chain()], pdp + [self.pi.proc.key], cep

    def value(self, activating):
        pi = self.pi
        eip, pdp, cep = self.paths() if activating else ([], [], [])
        return {
            "bpmnProcessId": pi.proc.id,
            "processInstanceKey": pi.key,
            "processDefinitionKey": pi.proc.key,
            "elementId": self.id,
            "flowScopeKey": self.flow_scope_key(),
            "bpmnEventType": self.event_type,
            "parentProcessInstanceKey": pi.parent.key if pi.parent else -1,
            "parentElementInstanceKey": pi.call_el.key if pi.parent else -1,
            "bpmnElementType": self.type,
            "version": pi.proc.version,
            "tenantId": pi.tenant,
            "elementInstancePath": eip,
            "processDefinitionPath": pdp,
            "callingElementPath": cep,
        }

    def ev(self, intent):
        r = self.pi.part.ev("PROCESS_INSTANCE", intent, self.key, self.value(intent == "ELEMENT_ACTIVATING"))
        self.pos[intent], self.ts[intent] = r.pos, r.ts
        self.last = r.pos
        return r


def flow(pi, scope, flow_id, flows):
    """SEQUENCE_FLOW_TAKEN; flows collects the last position per id."""
    part = pi.part
    v = {
        "bpmnProcessId": pi.proc.id,
        "processInstanceKey": pi.key,
        "processDefinitionKey": pi.proc.key,
        "elementId": flow_id,
        "flowScopeKey": scope.key if scope else pi.key,
        "bpmnEventType": "UNSPECIFIED",
        "parentProcessInstanceKey": pi.parent.key if pi.parent else -1,
        "parentElementInstanceKey": pi.call_el.key if pi.parent else -1,
        "bpmnElementType": "SEQUENCE_FLOW",
        "version": pi.proc.version,
        "tenantId": pi.tenant,
        "elementInstancePath": [],
        "processDefinitionPath": [],
        "callingElementPath": [],
    }
    r = part.ev("PROCESS_INSTANCE", "SEQUENCE_FLOW_TAKEN", part.key(), v)
    flows[(pi.key, flow_id)] = (pi, flow_id, r.pos)
    return r


class Vars:
    """Variable records of one fixture; remembers keys and the last record."""

    def __init__(self):
        self.keys = {}
        self.last = {}  # (scopeKey, name) -> (pi, value, pos)

    def set(self, pi, scope_key, name, value_text):
        part = pi.part
        k = (scope_key, name)
        if k in self.keys:
            if self.last[k][1] == value_text:
                return None  # Zeebe writes UPDATED only when the value changes
            intent, key = "UPDATED", self.keys[k]
        else:
            intent, key = "CREATED", part.key()
            self.keys[k] = key
        r = part.ev("VARIABLE", intent, key, {
            "name": name,
            "value": value_text,
            "scopeKey": scope_key,
            "processInstanceKey": pi.key,
            "processDefinitionKey": pi.proc.key,
            "bpmnProcessId": pi.proc.id,
            "tenantId": pi.tenant,
        })
        self.last[k] = (pi, value_text, r.pos)
        return r


EMPTY_RESULT = {
    "type": "USER_TASK", "denied": False, "deniedReason": "", "correctedAttributes": [],
    "corrections": {"assignee": "", "dueDate": "", "followUpDate": "", "candidateGroupsList": [],
                    "candidateUsersList": [], "priority": -1},
    "activateElements": [], "completionConditionFulfilled": False, "cancelRemainingInstances": False,
}


class Job:
    def __init__(self, el, type_, retries=3, headers=None, kind="BPMN_ELEMENT", listener="UNSPECIFIED"):
        self.el, self.type, self.retries = el, type_, retries
        self.headers = headers or {}
        self.key = el.pi.part.key()
        self.worker, self.deadline, self.timeout = "", -1, -1
        self.error_message, self.error_code = "", ""
        self.kind, self.listener = kind, listener
        self.variables = {}

    def value(self):
        pi = self.el.pi
        return {
            "bpmnProcessId": pi.proc.id,
            "processDefinitionKey": pi.proc.key,
            "processDefinitionVersion": pi.proc.version,
            "processInstanceKey": pi.key,
            "elementId": self.el.id,
            "elementInstanceKey": self.el.key,
            "worker": self.worker,
            "type": self.type,
            "variables": self.variables,
            "retries": self.retries,
            "jobKind": self.kind,
            "jobListenerEventType": self.listener,
            "retryBackoff": 0,
            "recurringTime": -1,
            "errorMessage": self.error_message,
            "errorCode": self.error_code,
            "customHeaders": self.headers,
            "deadline": self.deadline,
            "timeout": self.timeout,
            "tenantId": pi.tenant,
            "changedAttributes": [],
            "result": EMPTY_RESULT,
        }

    def ev(self, intent):
        r = self.el.pi.part.ev("JOB", intent, self.key, self.value())
        self.last_intent, self.last_pos, self.last_ts = intent, r.pos, r.ts
        return r

    def activate(self, worker, dt, timeout=300000):
        """JOB_BATCH ACTIVATED (ignored by the aggregator)."""
        part = self.el.pi.part
        part.command(dt)
        self.worker, self.timeout = worker, timeout
        self.deadline = part.ts + timeout
        v = self.value()
        part.ev("JOB_BATCH", "ACTIVATED", part.key(), {
            "type": self.type, "worker": worker, "timeout": timeout, "maxJobsToActivate": 32,
            "jobKeys": [self.key], "jobs": [v], "truncated": False, "tenantIds": ["<default>"]})


class Incident:
    def __init__(self, el, error_type, message, job=None):
        self.el, self.error_type, self.message, self.job = el, error_type, message, job
        self.key = el.pi.part.key()

    def value(self):
        el, pi = self.el, self.el.pi
        eip, pdp, cep = el.paths()
        return {
            "errorType": self.error_type,
            "errorMessage": self.message,
            "bpmnProcessId": pi.proc.id,
            "processDefinitionKey": pi.proc.key,
            "processInstanceKey": pi.key,
            "elementId": el.id,
            "elementInstanceKey": el.key,
            "jobKey": self.job.key if self.job else -1,
            "variableScopeKey": el.key,
            "tenantId": pi.tenant,
            "elementInstancePath": eip,
            "processDefinitionPath": pdp,
            "callingElementPath": cep,
        }

    def ev(self, intent):
        r = self.el.pi.part.ev("INCIDENT", intent, self.key, self.value())
        if intent == "CREATED":
            self.created = r
        else:
            self.resolved = r
        return r


def creation(pi, variables, vars_):
    """A client's CreateProcessInstance: variables, then PROCESS_INSTANCE_CREATION CREATED."""
    part = pi.part
    for name, val in variables:
        vars_.set(pi, pi.key, name, val)
    part.ev("PROCESS_INSTANCE_CREATION", "CREATED", pi.key, {
        "bpmnProcessId": pi.proc.id, "processDefinitionKey": pi.proc.key, "version": pi.proc.version,
        "variables": {n: json.loads(v) for n, v in variables}, "startInstructions": [],
        "runtimeInstructions": [], "processInstanceKey": pi.key, "tenantId": pi.tenant})


# ------------------------------------------------------------ expected docs


def doc_list_view(pi, state, start, end, position, tree_path, root_key, process_name, version_tag,
                  incident=False):
    return {
        "key": pi.key,
        "processDefinitionKey": pi.proc.key,
        "bpmnProcessId": pi.proc.id,
        "version": pi.proc.version,
        "versionTag": version_tag,
        "processName": process_name,
        "state": state,
        "startDate": iso(start),
        "endDate": iso(end),
        "parentProcessInstanceKey": pi.parent.key if pi.parent else -1,
        "parentFlowNodeInstanceKey": pi.call_el.key if pi.parent else -1,
        "rootProcessInstanceKey": root_key,
        "treePath": tree_path,
        "incident": incident,
        "tenantId": pi.tenant,
        "partitionId": pi.part.pid,
        "position": position,
    }


def doc_flow_node(el, name, state, start, end, position, tree_path, level, incident=False, incident_key=None):
    return {
        "key": el.key,
        "processInstanceKey": el.pi.key,
        "processDefinitionKey": el.pi.proc.key,
        "bpmnProcessId": el.pi.proc.id,
        "flowNodeId": el.id,
        "flowNodeName": name,
        "type": el.type,
        "state": state,
        "startDate": iso(start),
        "endDate": iso(end),
        "scopeKey": el.flow_scope_key(),
        "treePath": tree_path,
        "level": level,
        "incident": incident,
        "incidentKey": incident_key,
        "tenantId": el.pi.tenant,
        "position": position,
    }


def doc_sequence_flow(pi, flow_id, position):
    return {
        "processInstanceKey": pi.key,
        "processDefinitionKey": pi.proc.key,
        "bpmnProcessId": pi.proc.id,
        "activityId": flow_id,
        "tenantId": pi.tenant,
        "position": position,
    }


def doc_variable(pi, scope_key, name, value, full_value, is_preview, position):
    return {
        "name": name,
        "value": value,
        "fullValue": full_value,
        "isPreview": is_preview,
        "scopeKey": scope_key,
        "processInstanceKey": pi.key,
        "processDefinitionKey": pi.proc.key,
        "bpmnProcessId": pi.proc.id,
        "tenantId": pi.tenant,
        "position": position,
    }


def doc_job(job, state, worker, retries, deadline, end_time, position, error_message="", error_code=""):
    el = job.el
    return {
        "key": job.key,
        "processInstanceKey": el.pi.key,
        "flowNodeInstanceKey": el.key,
        "flowNodeId": el.id,
        "type": job.type,
        "worker": worker,
        "retries": retries,
        "state": state,
        "errorMessage": error_message,
        "errorCode": error_code,
        "deadline": iso(deadline),
        "customHeaders": job.headers,
        "endTime": iso(end_time),
        "tenantId": el.pi.tenant,
        "position": position,
    }


def doc_incident(inc, state, creation, resolution, position, tree_path, job_key):
    el = inc.el
    return {
        "key": inc.key,
        "processInstanceKey": el.pi.key,
        "processDefinitionKey": el.pi.proc.key,
        "bpmnProcessId": el.pi.proc.id,
        "flowNodeId": el.id,
        "flowNodeInstanceKey": el.key,
        "jobKey": job_key,
        "errorType": inc.error_type,
        "errorMessage": inc.message,
        "state": state,
        "creationTime": iso(creation),
        "resolutionTime": iso(resolution),
        "treePath": tree_path,
        "tenantId": el.pi.tenant,
        "position": position,
    }
