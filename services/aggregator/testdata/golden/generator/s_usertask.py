from lib import *
from steps import Run
import resources as R

BASE = 1764000000000  # 2025-11-24T16:00:00.000Z
DUE = "2025-12-01T17:00:00+01:00"


class UT:
    """A Camunda user task (zeebe:userTask) and its USER_TASK records."""

    def __init__(self, el, form_key):
        self.el, self.form_key = el, form_key
        self.key = el.pi.part.key()
        self.assignee = ""
        self.created_ts = None

    def value(self, changed=(), action="", variables=None):
        el, pi = self.el, self.el.pi
        return {
            "bpmnProcessId": pi.proc.id,
            "processDefinitionKey": pi.proc.key,
            "processDefinitionVersion": pi.proc.version,
            "processInstanceKey": pi.key,
            "elementId": el.id,
            "elementInstanceKey": el.key,
            "assignee": self.assignee,
            "candidateGroupsList": ["sales", "managers"],
            "candidateUsersList": ["anna", "bob"],
            "creationTimestamp": self.created_ts,
            "dueDate": DUE,
            "followUpDate": "",
            "changedAttributes": list(changed),
            "externalFormReference": "",
            "variables": variables or {},
            "customHeaders": {},
            "action": action,
            "formKey": self.form_key,
            "userTaskKey": self.key,
            "tenantId": pi.tenant,
            "priority": 70,
            "deniedReason": "",
        }

    def ev(self, intent, **kw):
        r = self.el.pi.part.ev("USER_TASK", intent, self.key, self.value(**kw))
        self.last_pos = r.pos
        return r


def listener_job(task, event, type_):
    job = Job(task.el, type_, retries=3, kind="TASK_LISTENER", listener=event,
              headers={"io.camunda.zeebe:userTaskKey": str(task.key), "io.camunda.zeebe:priority": "70",
                       "io.camunda.zeebe:dueDate": DUE,
                       "io.camunda.zeebe:candidateGroups": '["sales","managers"]',
                       "io.camunda.zeebe:candidateUsers": '["anna","bob"]',
                       "io.camunda.zeebe:formKey": str(task.form_key)})
    return job


def user_task():
    fx = Fixture("user_task")
    p = fx.part(1, 9000, 1000, BASE)
    # deployment on partition 1: the definitions' own partition writes their documents
    p.command(0)
    dkey = p.key()
    proc = Proc("order-approval", p.key(), 3, R.APPROVAL, "order-approval.bpmn", "v3", [], dkey)
    form_key = p.key()
    rproc = process_created(p, proc)
    rform = p.ev("FORM", "CREATED", form_key, {
        "formId": "approve-order", "version": 4, "formKey": form_key, "resourceName": "approve-order.form",
        "checksum": md5b64(R.APPROVE_FORM), "resource": b64(R.APPROVE_FORM), "duplicate": False,
        "tenantId": "<default>", "deploymentKey": dkey, "versionTag": "2025-q4"})
    deployment_created(p, dkey, [proc], [("order-approval.bpmn", R.APPROVAL), ("approve-order.form", R.APPROVE_FORM)])

    run = Run(fx, p)

    def start(order, total, dt):
        pi = run.create(proc, [("orderId", order), ("total", total), ("dueAt", DUE)], dt=dt)
        st = run.el(pi, "approval-requested", "START_EVENT", event_type="NONE")
        el = run.none_event(st, [("u1", "approve", "USER_TASK")])
        # activation: CREATING, CREATED (no creating listener), ACTIVATED
        p.command(1)
        el.ev("ELEMENT_ACTIVATING")
        task = UT(el, form_key)
        task.created_ts = p.ts
        task.ev("CREATING")
        task.ev("CREATED")
        el.ev("ELEMENT_ACTIVATED")
        return pi, st, el, task

    def assign(task, who, complete_listener=True):
        p.command(20000)  # USER_TASK ASSIGN
        # the ASSIGNING record carries the requested assignee
        old = task.assignee
        task.assignee = who
        task.ev("ASSIGNING", changed=["assignee"], action="assign")
        job = listener_job(task, "ASSIGNING", "audit.assignment")
        job.ev("CREATED")
        if not complete_listener:
            task.assignee = old
            return job, None
        run.job_complete(job, "audit-worker", [], dt_activate=50, dt_work=80)
        p.command(1)  # USER_TASK COMPLETE_TASK_LISTENER
        task.ev("ASSIGNED", changed=["assignee"], action="assign")
        return job, task

    # U1: created, assigned, completed
    pi1, st1, el1, t1 = start("A-2001", 980.0, 1000)
    j1a, _ = assign(t1, "anna")
    p.command(45000)  # USER_TASK COMPLETE
    vars1 = {"approved": True, "comment": "ok, priority customer"}
    t1.ev("COMPLETING", action="complete", variables=vars1)
    j1c = listener_job(t1, "COMPLETING", "audit.completion")
    j1c.ev("CREATED")
    run.job_complete(j1c, "audit-worker", [], dt_activate=40, dt_work=60)
    p.command(1)
    r_done = t1.ev("COMPLETED", action="complete", variables=vars1)
    run.complete(el1, between=lambda: [run.vars.set(pi1, pi1.key, n, jtext(v)) for n, v in vars1.items()])
    end1 = run.outs(pi1, None, [("u2", "approval-done", "END_EVENT", "NONE")])
    run.none_event(end1)
    run.complete(pi1.el)

    # U2: assigned to bob, completion waits for the completing listener
    pi2, st2, el2, t2 = start("A-2002", 15.0, 3000)
    j2a, _ = assign(t2, "bob")
    p.command(9000)
    t2.ev("COMPLETING", action="complete", variables={"approved": False})
    j2c = listener_job(t2, "COMPLETING", "audit.completion")
    j2c.ev("CREATED")

    # U3: an assignment waits for the assigning listener
    pi3, st3, el3, t3 = start("A-2003", 42.0, 2000)
    j3a, _ = assign(t3, "anna", complete_listener=False)

    # ---------------------------------------------------------- expected
    fx.expect("process", proc.key, {
        "key": proc.key, "bpmnProcessId": "order-approval", "version": 3, "versionTag": "v3",
        "name": "Order approval", "resourceName": "order-approval.bpmn", "bpmnXml": R.APPROVAL,
        "flowNodes": [{"id": "approval-requested", "name": "Approval requested"},
                      {"id": "approve", "name": "Approve order"},
                      {"id": "approval-done", "name": "Order approved"}],
        "callActivityIds": [], "deleted": False, "tenantId": "<default>", "position": rproc.pos})
    fx.expect("form", form_key, {"key": form_key, "formId": "approve-order", "version": 4,
                                 "schema": R.APPROVE_FORM, "tenantId": "<default>", "position": rform.pos})

    def task_doc(t, state, assignee, completion, position):
        el = t.el
        return {"key": t.key, "processInstanceKey": el.pi.key, "flowNodeInstanceKey": el.key,
                "flowNodeBpmnId": "approve", "bpmnProcessId": "order-approval", "processDefinitionKey": proc.key,
                "name": "Approve order", "state": state, "assignee": assignee,
                "candidateGroups": ["sales", "managers"], "candidateUsers": ["anna", "bob"],
                "dueDate": DUE, "followUpDate": None, "formKey": str(form_key), "priority": 70,
                "creationTime": iso(t.created_ts), "completionTime": iso(completion), "tenantId": "<default>",
                "position": position}

    fx.expect("task", t1.key, task_doc(t1, "COMPLETED", "anna", r_done.ts, r_done.pos))
    # COMPLETING does not move the state: still CREATED
    fx.expect("task", t2.key, task_doc(t2, "CREATED", "bob", None, t2.last_pos))
    # ASSIGNING neither moves the state nor assigns: the assignee is set by ASSIGNED
    fx.expect("task", t3.key, task_doc(t3, "CREATED", None, None, t3.last_pos))

    fx.expect("list-view", pi1.key, doc_list_view(
        pi1, "COMPLETED", pi1.el.ts["ELEMENT_ACTIVATING"], pi1.el.ts["ELEMENT_COMPLETED"],
        pi1.el.pos["ELEMENT_COMPLETED"], "PI_%d" % pi1.key, pi1.key, "Order approval", "v3"))
    for pi in (pi2, pi3):
        fx.expect("list-view", pi.key, doc_list_view(
            pi, "ACTIVE", pi.el.ts["ELEMENT_ACTIVATING"], None, pi.el.pos["ELEMENT_ACTIVATED"],
            "PI_%d" % pi.key, pi.key, "Order approval", "v3"))
    for pi, st, el, end in [(pi1, st1, el1, end1), (pi2, st2, el2, None), (pi3, st3, el3, None)]:
        fx.expect("flownode-instance", st.key, doc_flow_node(
            st, "Approval requested", "COMPLETED", st.ts["ELEMENT_ACTIVATING"], st.ts["ELEMENT_COMPLETED"],
            st.pos["ELEMENT_COMPLETED"], "%d/%d" % (pi.key, st.key), 1))
        if end:
            fx.expect("flownode-instance", el.key, doc_flow_node(
                el, "Approve order", "COMPLETED", el.ts["ELEMENT_ACTIVATING"], el.ts["ELEMENT_COMPLETED"],
                el.pos["ELEMENT_COMPLETED"], "%d/%d" % (pi.key, el.key), 1))
            fx.expect("flownode-instance", end.key, doc_flow_node(
                end, "Order approved", "COMPLETED", end.ts["ELEMENT_ACTIVATING"], end.ts["ELEMENT_COMPLETED"],
                end.pos["ELEMENT_COMPLETED"], "%d/%d" % (pi.key, end.key), 1))
        else:
            fx.expect("flownode-instance", el.key, doc_flow_node(
                el, "Approve order", "ACTIVE", el.ts["ELEMENT_ACTIVATING"], None,
                el.pos["ELEMENT_ACTIVATED"], "%d/%d" % (pi.key, el.key), 1))
    for job in (j1a, j1c, j2a):
        fx.expect("job", job.key, doc_job(job, "COMPLETED", "audit-worker", 3, job.deadline, job.last_ts,
                                          job.last_pos))
    for job in (j2c, j3a):
        fx.expect("job", job.key, doc_job(job, "CREATED", "", 3, None, None, job.last_pos))
    run.expect_flows()
    run.expect_vars()
    assert len(run.vars.last) == 11
    return fx
