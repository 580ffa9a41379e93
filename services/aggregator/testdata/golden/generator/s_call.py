from lib import *
from steps import Run
import resources as R

BASE = 1763985600000  # 2025-11-24T12:00:00.000Z
P1 = 1 << 51


def call_activity():
    fx = Fixture("call_activity")
    p = fx.part(4, 30500, 2500, BASE)  # partition 4: keys from 2^53 up
    parent_def = Proc("shipment", P1 + 620, 7, R.SHIPMENT, "shipment.bpmn", "2025.11",
                      ["call-ship", "call-customs"], P1 + 619)
    child_def = Proc("ship-parcel", P1 + 621, 2, R.SHIP_PARCEL, "ship-parcel.bpmn", "", [], P1 + 619)
    p.command(0)
    process_created(p, parent_def)
    process_created(p, child_def)
    deployment_created(p, P1 + 619, [parent_def, child_def],
                       [("shipment.bpmn", R.SHIPMENT), ("ship-parcel.bpmn", R.SHIP_PARCEL)])

    run = Run(fx, p)
    root = run.create(parent_def, [("country", "DE"), ("parcel", {"weightKg": 2.5, "dims": "30x20x10"})], dt=5000)
    start = run.el(root, "ship-requested", "START_EVENT", event_type="NONE")
    gw = run.none_event(start, [("s1", "needs-customs", "EXCLUSIVE_GATEWAY")])
    call = run.gateway(gw, [("s_domestic", "call-ship", "CALL_ACTIVITY")])

    # call activity: the child instance is created (its variables are copied
    # from the parent), then the call activity is activated, then the child
    # process element is activated.
    p.command(1)
    call.ev("ELEMENT_ACTIVATING")
    child = PI(p, child_def, parent=root, call_el=call)
    run.vars.set(child, child.key, "country", jtext("DE"))
    run.vars.set(child, child.key, "parcel", jtext({"weightKg": 2.5, "dims": "30x20x10"}))
    call.ev("ELEMENT_ACTIVATED")
    run.activate(child.el)
    cstart = run.el(child, "parcel-start", "START_EVENT", event_type="NONE")
    label = run.none_event(cstart, [("p1", "print-label", "SERVICE_TASK")])
    job = run.service_activate(label, "parcel.label")
    run.job_complete(job, "label-printer-2", [("labelId", "LBL-7781"), ("carrier", "DHL")], dt_work=1200)
    cend = run.service_complete(label, [(child.key, "labelId", "LBL-7781"), (child.key, "carrier", "DHL")],
                                [("p2", "parcel-end", "END_EVENT", "NONE")])
    run.none_event(cend)
    run.complete(child.el)
    # back in the parent: all child variables are propagated (only new or
    # changed values produce records)
    def merge():
        for name, value in [("country", "DE"), ("parcel", {"weightKg": 2.5, "dims": "30x20x10"}),
                            ("labelId", "LBL-7781"), ("carrier", "DHL")]:
            run.vars.set(root, root.key, name, jtext(value))
    run.complete(call, between=merge)
    end = run.outs(root, None, [("s3", "shipment-done", "END_EVENT", "NONE")])
    run.none_event(end)
    run.complete(root.el)

    # ---------------------------------------------------------- expected
    fx.expect("list-view", root.key, doc_list_view(
        root, "COMPLETED", root.el.ts["ELEMENT_ACTIVATING"], root.el.ts["ELEMENT_COMPLETED"],
        root.el.pos["ELEMENT_COMPLETED"], "PI_%d" % root.key, root.key, "Shipment", "2025.11"))
    # child: the tree path names the call activity and its instance
    fx.expect("list-view", child.key, doc_list_view(
        child, "COMPLETED", child.el.ts["ELEMENT_ACTIVATING"], child.el.ts["ELEMENT_COMPLETED"],
        child.el.pos["ELEMENT_COMPLETED"],
        "PI_%d/FN_call-ship/FNI_%d/PI_%d" % (root.key, call.key, child.key), root.key, "ship-parcel", None))
    for e, name, pk in [(start, "Shipment requested", root.key), (gw, "Customs needed?", root.key),
                        (call, "Ship parcel", root.key), (end, "Shipment done", root.key),
                        (cstart, "parcel-start", child.key), (label, "Print label", child.key),
                        (cend, "parcel-end", child.key)]:
        # flow-node tree paths stay within their own process instance
        fx.expect("flownode-instance", e.key, doc_flow_node(
            e, name, "COMPLETED", e.ts["ELEMENT_ACTIVATING"], e.ts["ELEMENT_COMPLETED"],
            e.pos["ELEMENT_COMPLETED"], "%d/%d" % (pk, e.key), 1))
    run.expect_flows()
    values = {"country": '"DE"', "parcel": '{"weightKg":2.5,"dims":"30x20x10"}', "labelId": '"LBL-7781"',
              "carrier": '"DHL"'}
    assert len(run.vars.last) == 8
    run.expect_vars(values)
    fx.expect("job", job.key, doc_job(job, "COMPLETED", "label-printer-2", 3, job.deadline, job.last_ts, job.last_pos))
    return fx
