"""Engine behaviour: which records a BPMN construct produces, in which order
(Zeebe 8.8: an element's ACTIVATE/COMPLETE/TERMINATE are separate commands,
each processed in its own batch; follow-up events carry the command's
position as sourceRecordPosition)."""
import json

from lib import El, Job, PI, Vars, flow, creation, jtext, process_created, doc_flow_node, doc_sequence_flow, doc_variable


def deployed(fx, p, proc):
    """Writes proc's PROCESS CREATED on partition p (the copy a deployment
    distributes, in a batch of its own) and returns the Run that drives its
    instances there."""
    p.command(0)
    process_created(p, proc)
    return Run(fx, p)


class Run:
    def __init__(self, fx, part):
        self.fx, self.p = fx, part
        self.vars = Vars()
        self.flows = {}

    # -- the documents every scenario expects alike

    def expect_flows(self):
        """Expects the sequence-flow document of every flow taken."""
        for (pik, fid), (fpi, _, pos) in self.flows.items():
            self.fx.expect("sequence-flow", "%d_%s" % (pik, fid), doc_sequence_flow(fpi, fid, pos))

    def expect_completed(self, rows):
        """Expects a COMPLETED flow-node document for each (element, name,
        tree path, level) of rows."""
        for e, name, path, level in rows:
            self.fx.expect("flownode-instance", e.key, doc_flow_node(
                e, name, "COMPLETED", e.ts["ELEMENT_ACTIVATING"], e.ts["ELEMENT_COMPLETED"],
                e.pos["ELEMENT_COMPLETED"], path, level))

    def expect_vars(self, want=None):
        """Expects the variable document of every variable's last value. With
        want (by (scope, name) or by name), first asserts that each last value
        is the one the scenario set."""
        for (scope, name), (vpi, value, pos) in self.vars.last.items():
            if want is not None:
                expected = want[(scope, name)] if (scope, name) in want else want[name]
                assert expected == value, (scope, name, value, expected)
            self.fx.expect("variable", "%d-%s" % (scope, name), doc_variable(vpi, scope, name, value, None, False, pos))

    # -- instances

    def create(self, proc, variables, dt, tenant="<default>"):
        self.p.command(dt)  # PROCESS_INSTANCE_CREATION CREATE
        pi = PI(self.p, proc, tenant=tenant)
        creation(pi, [(n, jtext(v)) for n, v in variables], self.vars)
        self.p.command(1)  # ACTIVATE_ELEMENT of the process
        pi.el.ev("ELEMENT_ACTIVATING")
        pi.el.ev("ELEMENT_ACTIVATED")
        return pi

    def el(self, pi, eid, typ, scope=None, event_type="UNSPECIFIED"):
        return El(pi, eid, typ, scope=scope, event_type=event_type)

    # -- generic lifecycle batches

    def activate(self, e, dt=1):
        self.p.command(dt)
        e.ev("ELEMENT_ACTIVATING")
        e.ev("ELEMENT_ACTIVATED")

    def complete(self, e, dt=1, between=None):
        self.p.command(dt)
        e.ev("ELEMENT_COMPLETING")
        if between:
            between()
        e.ev("ELEMENT_COMPLETED")

    def take(self, pi, scope, flow_id):
        return flow(pi, scope, flow_id, self.flows)

    def outs(self, pi, scope, outs):
        """SEQUENCE_FLOW_TAKEN for each (flowId, targetId, type[, eventType]); the
        target's element instance key is generated with its ACTIVATE command.
        A target of None is a joining gateway that is not activated yet."""
        targets = []
        for o in outs:
            self.take(pi, scope, o[0])
            if o[1] is None:
                targets.append(None)
                continue
            targets.append(El(pi, o[1], o[2], scope=scope, event_type=o[3] if len(o) > 3 else "UNSPECIFIED"))
        return targets if len(targets) != 1 else targets[0]

    def none_event(self, e, outs=(), scope=None):
        """start / end event without definitions: activate, then complete."""
        self.activate(e)
        self.p.command(1)
        e.ev("ELEMENT_COMPLETING")
        e.ev("ELEMENT_COMPLETED")
        if outs:
            return self.outs(e.pi, scope, outs)

    def gateway(self, e, outs, scope=None):
        self.activate(e)
        self.p.command(1)
        e.ev("ELEMENT_COMPLETING")
        e.ev("ELEMENT_COMPLETED")
        return self.outs(e.pi, scope, outs)

    # -- service tasks

    def service_activate(self, e, type_, retries=3, headers=None, dt=1, inputs=()):
        self.p.command(dt)
        e.ev("ELEMENT_ACTIVATING")
        for scope_key, name, value in inputs:
            self.vars.set(e.pi, scope_key, name, jtext(value))
        job = Job(e, type_, retries=retries, headers=headers)
        job.ev("CREATED")
        e.ev("ELEMENT_ACTIVATED")
        return job

    def job_complete(self, job, worker, variables, dt_activate=150, dt_work=900):
        """Worker activates and completes the job (JOB_BATCH ACTIVATED, JOB COMPLETED)."""
        job.activate(worker, dt_activate)
        self.p.command(dt_work)  # JOB COMPLETE
        job.variables = {n: v for n, v in variables}
        job.ev("COMPLETED")

    def service_complete(self, e, merges, outs=(), scope=None):
        """COMPLETE_ELEMENT after the job completed; merges: (scopeKey, name, value)."""
        def between():
            for scope_key, name, value in merges:
                self.vars.set(e.pi, scope_key, name, jtext(value))
        self.complete(e, between=between)
        if outs:
            return self.outs(e.pi, scope, outs)
