from lib import *
from steps import Run
import resources as R

BASE = 1763978400000  # 2025-11-24T10:00:00.000Z
P1 = 1 << 51


def service_gateways():
    fx = Fixture("service_gateways")
    p = fx.part(3, 51000, 4000, BASE)
    proc = Proc("order-process", P1 + 301, 4, R.SHOP, "order-process.bpmn", "v1.4", [], P1 + 300)
    p.command(0)  # distributed deployment: a copy of the definition (owned by partition 1)
    process_created(p, proc)
    deployment_created(p, P1 + 300, [proc], [("order-process.bpmn", R.SHOP)])

    run = Run(fx, p)
    pi = run.create(proc, [("orderId", "A-1001"), ("amount", 129.9), ("express", False),
                           ("customer", {"id": "C-77", "name": "Zoë Müller", "tier": "gold"})], dt=60000)
    start = run.el(pi, "start", "START_EVENT", event_type="NONE")
    reserve = run.none_event(start, [("f_start", "reserve-stock", "SERVICE_TASK")])
    job_reserve = run.service_activate(reserve, "inventory.reserve", 3, {"warehouse": "DC-Berlin", "priority": "high"})
    run.job_complete(job_reserve, "inventory-worker-1", [("reserved", True), ("stockLocation", "DC-Berlin")])
    gw = run.service_complete(reserve, [(pi.key, "reserved", True), (pi.key, "stockLocation", "DC-Berlin")],
                              [("f_reserved", "express-check", "EXCLUSIVE_GATEWAY")])
    # express = false: the default flow
    std = run.gateway(gw, [("f_standard", "ship-standard", "SERVICE_TASK")])
    job_std = run.service_activate(std, "shipping.standard")
    run.job_complete(job_std, "shipping-worker-3", [("trackingId", "DHL-00012345")], dt_work=2400)
    shipped = run.service_complete(std, [(pi.key, "trackingId", "DHL-00012345")],
                                   [("f_standard_done", "shipped", "EXCLUSIVE_GATEWAY")])
    fork = run.gateway(shipped, [("f_to_fork", "fork", "PARALLEL_GATEWAY")])
    charge, invoice = run.gateway(fork, [("f_charge", "charge-card", "SERVICE_TASK"),
                                         ("f_invoice", "send-invoice", "SERVICE_TASK")])
    job_charge = run.service_activate(charge, "payment.charge")
    job_invoice = run.service_activate(invoice, "billing.invoice")
    # the invoice is sent first: its flow reaches the join, which waits
    run.job_complete(job_invoice, "billing-worker-1", [("invoiceId", "INV-2025-0042")], dt_work=700)
    run.service_complete(invoice, [(pi.key, "invoiceId", "INV-2025-0042")], [("f_invoiced", None)])
    # the charge changes the amount (fees): VARIABLE UPDATED
    run.job_complete(job_charge, "payment-worker-2", [("amount", 134.9), ("paymentId", "pay_8f2c")], dt_work=300)
    join = run.service_complete(charge, [(pi.key, "amount", 134.9), (pi.key, "paymentId", "pay_8f2c")],
                                [("f_charged", "join", "PARALLEL_GATEWAY")])
    end = run.gateway(join, [("f_to_end", "end", "END_EVENT", "NONE")])
    run.none_event(end)
    run.complete(pi.el)

    # ---------------------------------------------------------- expected
    done = pi.el.pos["ELEMENT_COMPLETED"]
    fx.expect("list-view", pi.key, doc_list_view(
        pi, "COMPLETED", pi.el.ts["ELEMENT_ACTIVATING"], pi.el.ts["ELEMENT_COMPLETED"], done,
        "PI_%d" % pi.key, pi.key, "Order process", "v1.4"))
    for e, name in [(start, "Order received"), (reserve, "Reserve stock"), (gw, "Express?"),
                    (std, "Ship standard"), (shipped, "shipped"), (fork, "fork"), (charge, "Charge card"),
                    (invoice, "Send invoice"), (join, "join"), (end, "Order completed")]:
        fx.expect("flownode-instance", e.key, doc_flow_node(
            e, name, "COMPLETED", e.ts["ELEMENT_ACTIVATING"], e.ts["ELEMENT_COMPLETED"],
            e.pos["ELEMENT_COMPLETED"], "%d/%d" % (pi.key, e.key), 1))
    run.expect_flows()
    expected_values = {
        "orderId": '"A-1001"', "amount": "134.9", "express": "false",
        "customer": '{"id":"C-77","name":"Zoë Müller","tier":"gold"}', "reserved": "true",
        "stockLocation": '"DC-Berlin"', "trackingId": '"DHL-00012345"', "invoiceId": '"INV-2025-0042"',
        "paymentId": '"pay_8f2c"'}
    run.expect_vars(expected_values)
    assert len(run.vars.last) == len(expected_values)
    for job, worker in [(job_reserve, "inventory-worker-1"), (job_std, "shipping-worker-3"),
                        (job_charge, "payment-worker-2"), (job_invoice, "billing-worker-1")]:
        fx.expect("job", job.key, doc_job(job, "COMPLETED", worker, 3, job.deadline, job.last_ts, job.last_pos))
    return fx
