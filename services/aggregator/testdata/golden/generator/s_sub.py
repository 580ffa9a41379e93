from lib import *
from steps import Run, deployed
import resources as R

BASE = 1763982000000  # 2025-11-24T11:00:00.000Z
P1 = 1 << 51


def embedded_subprocess():
    fx = Fixture("embedded_subprocess")
    p = fx.part(5, 88000, 7000, BASE)  # partition 5: keys above 2^53
    proc = Proc("claim-process", P1 + 512, 1, R.CLAIM, "claim.bpmn", "", [], P1 + 511, tenant="acme")
    run = deployed(fx, p, proc)
    pi = run.create(proc, [("claim", {"id": "CL-9", "amount": 2400, "policy": "P-123"})], dt=30000, tenant="acme")
    start = run.el(pi, "claim-filed", "START_EVENT", event_type="NONE")
    register = run.none_event(start, [("c1", "register-claim", "SERVICE_TASK")])
    job_reg = run.service_activate(register, "claims.register")
    run.job_complete(job_reg, "claims-worker", [("registeredAt", "2025-11-24T11:00:31Z")])
    assess = run.service_complete(register, [(pi.key, "registeredAt", "2025-11-24T11:00:31Z")],
                                  [("c2", "assess", "SUB_PROCESS")])
    # the sub-process: input mapping creates a local variable, then its start event
    p.command(1)
    assess.ev("ELEMENT_ACTIVATING")
    run.vars.set(pi, assess.key, "claimedAmount", jtext(2400))
    assess.ev("ELEMENT_ACTIVATED")
    astart = El(pi, "assess-start", "START_EVENT", scope=assess, event_type="NONE")
    estimate = run.none_event(astart, [("a1", "estimate-damage", "SERVICE_TASK")], scope=assess)
    job_est = run.service_activate(estimate, "claims.estimate")
    run.job_complete(job_est, "claims-worker", [("estimate", 1850.5), ("claimedAmount", 2300)], dt_work=5000)
    # estimate is new: created in the root scope; claimedAmount exists in the
    # sub-process scope: updated there
    aend = run.service_complete(estimate, [(pi.key, "estimate", 1850.5), (assess.key, "claimedAmount", 2300)],
                                [("a2", "assess-end", "END_EVENT", "NONE")], scope=assess)
    run.none_event(aend)
    run.complete(assess)
    settled = run.outs(pi, None, [("c3", "claim-settled", "END_EVENT", "NONE")])
    run.none_event(settled)
    run.complete(pi.el)

    # ---------------------------------------------------------- expected
    fx.expect("list-view", pi.key, doc_list_view(
        pi, "COMPLETED", pi.el.ts["ELEMENT_ACTIVATING"], pi.el.ts["ELEMENT_COMPLETED"],
        pi.el.pos["ELEMENT_COMPLETED"], "PI_%d" % pi.key, pi.key, "Insurance claim", None))
    k = pi.key
    run.expect_completed([
            (start, "Claim filed", "%d/%d" % (k, start.key), 1),
            (register, "Register claim", "%d/%d" % (k, register.key), 1),
            (assess, "Assess claim", "%d/%d" % (k, assess.key), 1),
            (astart, "assess-start", "%d/%d/%d" % (k, assess.key, astart.key), 2),
            (estimate, "Estimate damage", "%d/%d/%d" % (k, assess.key, estimate.key), 2),
            (aend, "assess-end", "%d/%d/%d" % (k, assess.key, aend.key), 2),
            (settled, "Claim settled", "%d/%d" % (k, settled.key), 1)])
    run.expect_flows()
    want = {(k, "claim"): '{"id":"CL-9","amount":2400,"policy":"P-123"}',
            (k, "registeredAt"): '"2025-11-24T11:00:31Z"',
            (assess.key, "claimedAmount"): "2300",
            (k, "estimate"): "1850.5"}
    assert set(want) == set(run.vars.last), run.vars.last.keys()
    run.expect_vars(want)
    for job in (job_reg, job_est):
        fx.expect("job", job.key, doc_job(job, "COMPLETED", "claims-worker", 3, job.deadline, job.last_ts, job.last_pos))
    return fx
