from lib import *
from steps import Run
import resources as R

BASE = 1763992800000  # 2025-11-24T14:00:00.000Z
P1 = 1 << 51


class Tree:
    pass


def incidents():
    fx = Fixture("incidents")
    p = fx.part(5, 140000, 9000, BASE)
    orch = Proc("payment-orchestration", P1 + 840, 5, R.ORCHESTRATION, "payment-orchestration.bpmn", "",
                ["call-charge"], P1 + 839)
    charge_def = Proc("charge-card", P1 + 841, 3, R.CHARGE, "charge-card.bpmn", "", [], P1 + 839)
    p.command(0)
    process_created(p, orch)
    process_created(p, charge_def)

    run = Run(fx, p)

    def start_tree(invoice, amount, dt):
        t = Tree()
        t.root = root = run.create(orch, [("invoiceId", invoice), ("amount", amount)], dt=dt)
        t.start = run.el(root, "orch-start", "START_EVENT", event_type="NONE")
        t.settle = run.none_event(t.start, [("o1", "settle", "SUB_PROCESS")])
        run.activate(t.settle)
        t.sstart = El(root, "settle-start", "START_EVENT", scope=t.settle, event_type="NONE")
        t.call = run.none_event(t.sstart, [("o2", "call-charge", "CALL_ACTIVITY")], scope=t.settle)
        p.command(1)
        t.call.ev("ELEMENT_ACTIVATING")
        t.child = child = PI(p, charge_def, parent=root, call_el=t.call)
        run.vars.set(child, child.key, "invoiceId", jtext(invoice))
        run.vars.set(child, child.key, "amount", jtext(amount))
        t.call.ev("ELEMENT_ACTIVATED")
        run.activate(child.el)
        t.cstart = run.el(child, "charge-start", "START_EVENT", event_type="NONE")
        t.charge = run.none_event(t.cstart, [("k1", "charge", "SERVICE_TASK")])
        t.job = run.service_activate(t.charge, "payment.charge", retries=2, headers={"psp": "adyen"})
        return t

    def fail(t, worker, retries, message, dt_work):
        t.job.activate(worker, 100)
        p.command(dt_work)  # JOB FAIL
        t.job.retries, t.job.error_message = retries, message
        t.job.ev("FAILED")
        if retries == 0:
            t.inc = Incident(t.charge, "JOB_NO_RETRIES", message, t.job)
            t.inc.ev("CREATED")

    # Tree A: the charge fails twice, the incident is resolved, the charge succeeds.
    a = start_tree("INV-88", 59.0, 1000)
    fail(a, "psp-worker-1", 1, "PSP timeout after 30s", 30000)
    fail(a, "psp-worker-1", 0, "Card declined by issuer: insufficient funds", 1200)
    # Tree B starts meanwhile; its charge fails for good (incident stays open).
    b = start_tree("INV-89", 12.5, 4000)
    fail(b, "psp-worker-2", 1, "PSP timeout after 30s", 30000)
    fail(b, "psp-worker-2", 0, "Card expired", 800)
    # An operator fixes tree A: retries updated, incident resolved.
    p.command(600000)  # JOB UPDATE_RETRIES
    a.job.retries = 1
    a.job.ev("RETRIES_UPDATED")
    p.command(2000)  # INCIDENT RESOLVE
    a.inc.ev("RESOLVED")
    run.job_complete(a.job, "psp-worker-1", [("chargeId", "ch_3PX9"), ("charged", True)], dt_work=700)
    cend = run.service_complete(a.charge, [(a.child.key, "chargeId", "ch_3PX9"), (a.child.key, "charged", True)],
                                [("k2", "charge-end", "END_EVENT", "NONE")])
    run.none_event(cend)
    run.complete(a.child.el)
    run.complete(a.call, between=lambda: [run.vars.set(a.root, a.root.key, n, jtext(v)) for n, v in
                                          [("invoiceId", "INV-88"), ("amount", 59.0), ("chargeId", "ch_3PX9"),
                                           ("charged", True)]])
    send = run.outs(a.root, a.settle, [("o3", "settle-end", "END_EVENT", "NONE")])
    run.none_event(send)
    run.complete(a.settle)
    oend = run.outs(a.root, None, [("o4", "orch-end", "END_EVENT", "NONE")])
    run.none_event(oend)
    run.complete(a.root.el)

    # ---------------------------------------------------------- expected
    def tree_path(t):
        return "PI_%d/FN_call-charge/FNI_%d/PI_%d" % (t.root.key, t.call.key, t.child.key)

    def fn(e, name, path, level, state="COMPLETED", **kw):
        end = e.ts.get("ELEMENT_COMPLETED")
        last = e.pos.get("ELEMENT_COMPLETED", e.pos.get("ELEMENT_ACTIVATED"))
        fx.expect("flownode-instance", e.key, doc_flow_node(
            e, name, state, e.ts["ELEMENT_ACTIVATING"], end if state == "COMPLETED" else None,
            kw.pop("position", last), path, level, **kw))

    # tree A: everything completed, incident flags cleared again
    r, c = a.root.key, a.child.key
    fx.expect("list-view", r, doc_list_view(
        a.root, "COMPLETED", a.root.el.ts["ELEMENT_ACTIVATING"], a.root.el.ts["ELEMENT_COMPLETED"],
        a.root.el.pos["ELEMENT_COMPLETED"], "PI_%d" % r, r, "Payment orchestration", None))
    fx.expect("list-view", c, doc_list_view(
        a.child, "COMPLETED", a.child.el.ts["ELEMENT_ACTIVATING"], a.child.el.ts["ELEMENT_COMPLETED"],
        a.child.el.pos["ELEMENT_COMPLETED"], tree_path(a), r, "Charge card", None))
    s = a.settle.key
    fn(a.start, "Invoice due", "%d/%d" % (r, a.start.key), 1)
    fn(a.settle, "Settlement", "%d/%d" % (r, s), 1)
    fn(a.sstart, "settle-start", "%d/%d/%d" % (r, s, a.sstart.key), 2)
    fn(a.call, "Charge customer", "%d/%d/%d" % (r, s, a.call.key), 2)
    fn(send, "settle-end", "%d/%d/%d" % (r, s, send.key), 2)
    fn(oend, "Invoice settled", "%d/%d" % (r, oend.key), 1)
    fn(a.cstart, "charge-start", "%d/%d" % (c, a.cstart.key), 1)
    fn(a.charge, "Charge", "%d/%d" % (c, a.charge.key), 1)
    fn(cend, "charge-end", "%d/%d" % (c, cend.key), 1)
    fx.expect("incident", a.inc.key, doc_incident(
        a.inc, "RESOLVED", a.inc.created.ts, a.inc.resolved.ts, a.inc.resolved.pos,
        tree_path(a) + "/FN_charge/FNI_%d" % a.charge.key, a.job.key))
    fx.expect("job", a.job.key, doc_job(a.job, "COMPLETED", "psp-worker-1", 1, a.job.deadline, a.job.last_ts,
                                        a.job.last_pos, error_message="Card declined by issuer: insufficient funds"))

    # tree B: the open incident in the called child flags the child, its
    # calling instance, and the failing flow node
    r, c, s = b.root.key, b.child.key, b.settle.key
    inc_pos = b.inc.created.pos
    fx.expect("list-view", r, doc_list_view(
        b.root, "ACTIVE", b.root.el.ts["ELEMENT_ACTIVATING"], None, inc_pos, "PI_%d" % r, r,
        "Payment orchestration", None, incident=True))
    fx.expect("list-view", c, doc_list_view(
        b.child, "ACTIVE", b.child.el.ts["ELEMENT_ACTIVATING"], None, inc_pos, tree_path(b), r, "Charge card", None,
        incident=True))
    fn(b.start, "Invoice due", "%d/%d" % (r, b.start.key), 1)
    fn(b.settle, "Settlement", "%d/%d" % (r, s), 1, state="ACTIVE")
    fn(b.sstart, "settle-start", "%d/%d/%d" % (r, s, b.sstart.key), 2)
    fn(b.call, "Charge customer", "%d/%d/%d" % (r, s, b.call.key), 2, state="ACTIVE")
    fn(b.cstart, "charge-start", "%d/%d" % (c, b.cstart.key), 1)
    fn(b.charge, "Charge", "%d/%d" % (c, b.charge.key), 1, state="ACTIVE", incident=True, incident_key=b.inc.key,
       position=inc_pos)
    fx.expect("incident", b.inc.key, doc_incident(
        b.inc, "ACTIVE", b.inc.created.ts, None, inc_pos, tree_path(b) + "/FN_charge/FNI_%d" % b.charge.key,
        b.job.key))
    # a job that failed without retries has not ended: it can get retries
    # again (the Camunda exporter sets endTime only on COMPLETED/CANCELED)
    fx.expect("job", b.job.key, doc_job(b.job, "FAILED", "psp-worker-2", 0, b.job.deadline, None, b.job.last_pos,
                                        error_message="Card expired"))

    run.expect_flows()
    run.expect_vars()
    assert len(run.vars.last) == 12
    return fx
