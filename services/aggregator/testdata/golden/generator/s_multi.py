from lib import *
from steps import Run, deployed
import resources as R

BASE = 1763989200000  # 2025-11-24T13:00:00.000Z
P1 = 1 << 51


def start_batch(run, proc, recipients, batch_id, dt, retries):
    """Starts a batch-notify instance up to one activated job per recipient:
    the multi-instance body is activated, its output collection initialised,
    and one inner instance activated per item."""
    pi = run.create(proc, [("recipients", recipients), ("batchId", batch_id)], dt=dt)
    start = run.el(pi, "notify-start", "START_EVENT", event_type="NONE")
    body = run.none_event(start, [("n1", "notify", "MULTI_INSTANCE_BODY")])
    run.activate(body)
    run.vars.set(pi, body.key, "deliveries", jtext([None, None, None]))
    inner = [El(pi, "notify", "SERVICE_TASK", scope=body) for _ in recipients]
    jobs = []
    for i, (e, rcpt) in enumerate(zip(inner, recipients)):
        jobs.append(run.service_activate(e, "notify.email", retries=retries, inputs=[
            (e.key, "recipient", rcpt), (e.key, "deliveryStatus", None), (e.key, "loopCounter", i + 1)]))
    return pi, start, body, inner, jobs


def multi_instance():
    fx = Fixture("multi_instance")
    p = fx.part(2, 20400, 1800, BASE)
    proc = Proc("batch-notify", P1 + 733, 1, R.NOTIFY, "batch-notify.bpmn", "", [], P1 + 732)
    run = deployed(fx, p, proc)
    recipients = ["anna@example.com", "bob@example.com", "carla@example.com"]
    pi, start, body, inner, jobs = start_batch(run, proc, recipients, "B-17", dt=2000, retries=3)
    deliveries = [None, None, None]
    statuses = ["sent", "sent", "bounced"]
    for i in (1, 0, 2):  # workers finish out of order
        e, job = inner[i], jobs[i]
        run.job_complete(job, "mailer-%d" % (i + 1), [("deliveryStatus", statuses[i])], dt_work=400 + 100 * i)
        deliveries[i] = statuses[i]
        run.service_complete(e, [(e.key, "deliveryStatus", statuses[i]), (body.key, "deliveries", list(deliveries))])
    # all inner instances completed: the body completes and propagates the
    # output collection
    run.complete(body, between=lambda: run.vars.set(pi, pi.key, "deliveries", jtext(deliveries)))
    end = run.outs(pi, None, [("n2", "notify-end", "END_EVENT", "NONE")])
    run.none_event(end)
    run.complete(pi.el)

    # Batch B-18: two inner jobs fail without retries (two incidents in one
    # instance); one is fixed and completes, the other stays open.
    rec2 = ["dora@example.com", "emil@example.com", "fynn@example.com"]
    pi2, start2, body2, inner2, jobs2 = start_batch(run, proc, rec2, "B-18", dt=30000, retries=1)
    run.job_complete(jobs2[0], "mailer-1", [("deliveryStatus", "sent")], dt_work=300)
    run.service_complete(inner2[0], [(inner2[0].key, "deliveryStatus", "sent"),
                                     (body2.key, "deliveries", ["sent", None, None])])
    incs = {}
    for i, msg in [(1, "SMTP 550 5.1.1 mailbox unavailable"), (2, "SMTP 421 4.7.0 try again later")]:
        jobs2[i].activate("mailer-%d" % (i + 1), 100)
        p.command(700)
        jobs2[i].retries, jobs2[i].error_message = 0, msg
        jobs2[i].ev("FAILED")
        incs[i] = Incident(inner2[i], "JOB_NO_RETRIES", msg, jobs2[i])
        incs[i].ev("CREATED")
    p.command(120000)
    jobs2[2].retries = 1
    jobs2[2].ev("RETRIES_UPDATED")
    p.command(1500)
    incs[2].ev("RESOLVED")
    run.job_complete(jobs2[2], "mailer-3", [("deliveryStatus", "sent")], dt_work=200)
    run.service_complete(inner2[2], [(inner2[2].key, "deliveryStatus", "sent"),
                                     (body2.key, "deliveries", ["sent", None, "sent"])])

    # ---------------------------------------------------------- expected
    # B-18: still active; one incident open, so the instance is flagged (the
    # flag was last changed by the first incident)
    k2 = pi2.key
    fx.expect("list-view", k2, doc_list_view(
        pi2, "ACTIVE", pi2.el.ts["ELEMENT_ACTIVATING"], None, incs[1].created.pos, "PI_%d" % k2, k2,
        "Notify recipients", None, incident=True))
    fx.expect("flownode-instance", start2.key, doc_flow_node(
        start2, "Batch ready", "COMPLETED", start2.ts["ELEMENT_ACTIVATING"], start2.ts["ELEMENT_COMPLETED"],
        start2.pos["ELEMENT_COMPLETED"], "%d/%d" % (k2, start2.key), 1))
    fx.expect("flownode-instance", body2.key, doc_flow_node(
        body2, "Notify recipient", "ACTIVE", body2.ts["ELEMENT_ACTIVATING"], None, body2.pos["ELEMENT_ACTIVATED"],
        "%d/%d" % (k2, body2.key), 1))
    for i in (0, 2):
        e = inner2[i]
        fx.expect("flownode-instance", e.key, doc_flow_node(
            e, "Notify recipient", "COMPLETED", e.ts["ELEMENT_ACTIVATING"], e.ts["ELEMENT_COMPLETED"],
            e.pos["ELEMENT_COMPLETED"], "%d/%d/%d" % (k2, body2.key, e.key), 2))
    e = inner2[1]
    fx.expect("flownode-instance", e.key, doc_flow_node(
        e, "Notify recipient", "ACTIVE", e.ts["ELEMENT_ACTIVATING"], None, incs[1].created.pos,
        "%d/%d/%d" % (k2, body2.key, e.key), 2, incident=True, incident_key=incs[1].key))
    fx.expect("incident", incs[1].key, doc_incident(
        incs[1], "ACTIVE", incs[1].created.ts, None, incs[1].created.pos,
        "PI_%d/FN_notify/FNI_%d" % (k2, inner2[1].key), jobs2[1].key))
    fx.expect("incident", incs[2].key, doc_incident(
        incs[2], "RESOLVED", incs[2].created.ts, incs[2].resolved.ts, incs[2].resolved.pos,
        "PI_%d/FN_notify/FNI_%d" % (k2, inner2[2].key), jobs2[2].key))
    fx.expect("job", jobs2[0].key, doc_job(jobs2[0], "COMPLETED", "mailer-1", 1, jobs2[0].deadline,
                                           jobs2[0].last_ts, jobs2[0].last_pos))
    fx.expect("job", jobs2[1].key, doc_job(jobs2[1], "FAILED", "mailer-2", 0, jobs2[1].deadline, None,
                                           jobs2[1].last_pos, error_message="SMTP 550 5.1.1 mailbox unavailable"))
    fx.expect("job", jobs2[2].key, doc_job(jobs2[2], "COMPLETED", "mailer-3", 1, jobs2[2].deadline,
                                           jobs2[2].last_ts, jobs2[2].last_pos,
                                           error_message="SMTP 421 4.7.0 try again later"))

    k = pi.key
    fx.expect("list-view", k, doc_list_view(
        pi, "COMPLETED", pi.el.ts["ELEMENT_ACTIVATING"], pi.el.ts["ELEMENT_COMPLETED"],
        pi.el.pos["ELEMENT_COMPLETED"], "PI_%d" % k, k, "Notify recipients", None))
    rows = [(start, "Batch ready", "%d/%d" % (k, start.key), 1),
            (body, "Notify recipient", "%d/%d" % (k, body.key), 1),
            (end, "All notified", "%d/%d" % (k, end.key), 1)]
    rows += [(e, "Notify recipient", "%d/%d/%d" % (k, body.key, e.key), 2) for e in inner]
    run.expect_completed(rows)
    run.expect_flows()
    want = {(k, "recipients"): '["anna@example.com","bob@example.com","carla@example.com"]',
            (k, "batchId"): '"B-17"',
            (body.key, "deliveries"): '["sent","sent","bounced"]',
            (k, "deliveries"): '["sent","sent","bounced"]'}
    for i, e in enumerate(inner):
        want[(e.key, "recipient")] = '"%s"' % recipients[i]
        want[(e.key, "deliveryStatus")] = '"%s"' % statuses[i]
        want[(e.key, "loopCounter")] = str(i + 1)
    want[(k2, "recipients")] = '["dora@example.com","emil@example.com","fynn@example.com"]'
    want[(k2, "batchId")] = '"B-18"'
    want[(body2.key, "deliveries")] = '["sent",null,"sent"]'
    for i, e in enumerate(inner2):
        want[(e.key, "recipient")] = '"%s"' % rec2[i]
        want[(e.key, "deliveryStatus")] = 'null' if i == 1 else '"sent"'
        want[(e.key, "loopCounter")] = str(i + 1)
    assert set(want) == set(run.vars.last), set(want) ^ set(run.vars.last)
    run.expect_vars(want)
    for i, job in enumerate(jobs):
        fx.expect("job", job.key, doc_job(job, "COMPLETED", "mailer-%d" % (i + 1), 3, job.deadline, job.last_ts,
                                          job.last_pos))
    return fx
