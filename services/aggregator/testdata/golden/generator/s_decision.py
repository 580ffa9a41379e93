from lib import *
from steps import Run
import resources as R

BASE = 1764003600000  # 2025-11-24T17:00:00.000Z
P1 = 1 << 51
FAILURE = ("Expected to evaluate decision 'discount', but failed to evaluate expression 'total': "
           "no variable found for name 'total'")


def business_rule():
    fx = Fixture("business_rule")
    p = fx.part(2, 61000, 3300, BASE)
    dkey = P1 + 1000
    proc = Proc("quote", P1 + 1001, 1, R.QUOTE, "quote.bpmn", "", [], dkey)
    drg_key, tier_key, disc_key = P1 + 1002, P1 + 1003, P1 + 1004
    # distributed copies on partition 2 (the definitions belong to partition 1)
    p.command(0)
    process_created(p, proc)
    p.ev("DECISION_REQUIREMENTS", "CREATED", drg_key, {
        "decisionRequirementsId": "pricing-drg", "decisionRequirementsName": "Pricing",
        "decisionRequirementsVersion": 1, "decisionRequirementsKey": drg_key,
        "namespace": "http://camunda.org/schema/1.0/dmn", "resourceName": "pricing.dmn",
        "resource": b64(R.PRICING_DMN), "checksum": md5b64(R.PRICING_DMN), "duplicate": False,
        "tenantId": "<default>", "deploymentKey": dkey})
    for did, name, key in [("customer-tier", "Customer tier", tier_key), ("discount", "Discount", disc_key)]:
        p.ev("DECISION", "CREATED", key, {
            "decisionId": did, "decisionName": name, "version": 1, "decisionKey": key,
            "decisionRequirementsKey": drg_key, "decisionRequirementsId": "pricing-drg", "duplicate": False,
            "tenantId": "<default>", "deploymentKey": dkey, "versionTag": ""})

    run = Run(fx, p)

    def evaluation(el, intent, decisions, output, failure="", failed_id=""):
        key = p.key()
        ev = []
        for i, d in enumerate(decisions):
            d = dict(d)
            d["decisionEvaluationInstanceKey"] = "%d-%d" % (key, i + 1)
            ev.append(d)
        r = p.ev("DECISION_EVALUATION", intent, key, {
            "decisionKey": disc_key, "decisionId": "discount", "decisionName": "Discount", "decisionVersion": 1,
            "decisionRequirementsKey": drg_key, "decisionRequirementsId": "pricing-drg", "decisionOutput": output,
            "variables": {}, "processDefinitionKey": proc.key, "bpmnProcessId": proc.id,
            "processInstanceKey": el.pi.key, "elementInstanceKey": el.key, "elementId": el.id,
            "evaluatedDecisions": ev, "evaluationFailureMessage": failure, "failedDecisionId": failed_id,
            "tenantId": "<default>"})
        return r

    def tier(orders, tier_name, rule_id, rule_index):
        return {"decisionId": "customer-tier", "decisionName": "Customer tier", "decisionKey": tier_key,
                "decisionVersion": 1, "decisionType": "DECISION_TABLE", "decisionOutput": '"%s"' % tier_name,
                "tenantId": "<default>",
                "evaluatedInputs": [{"inputId": "in_orders", "inputName": "Orders last year", "inputValue": str(orders)}],
                "matchedRules": [{"ruleId": rule_id, "ruleIndex": rule_index, "evaluatedOutputs": [
                    {"outputId": "out_tier", "outputName": "tier", "outputValue": '"%s"' % tier_name}]}]}

    # Q1: evaluated
    q1 = run.create(proc, [("orders", 12), ("total", 250)], dt=1000)
    s1 = run.el(q1, "quote-requested", "START_EVENT", event_type="NONE")
    brt1 = run.none_event(s1, [("q1", "decide-discount", "BUSINESS_RULE_TASK")])
    p.command(1)
    brt1.ev("ELEMENT_ACTIVATING")
    disc_ok = {"decisionId": "discount", "decisionName": "Discount", "decisionKey": disc_key, "decisionVersion": 1,
               "decisionType": "DECISION_TABLE", "decisionOutput": "15", "tenantId": "<default>",
               "evaluatedInputs": [{"inputId": "in_tier", "inputName": "Tier", "inputValue": '"gold"'},
                                   {"inputId": "in_total", "inputName": "Order total", "inputValue": "250"}],
               "matchedRules": [{"ruleId": "r_gold_big", "ruleIndex": 1, "evaluatedOutputs": [
                   {"outputId": "out_pct", "outputName": "discount", "outputValue": "15"}]}]}
    e1 = evaluation(brt1, "EVALUATED", [tier(12, "gold", "r_gold", 1), disc_ok], "15")
    brt1.ev("ELEMENT_ACTIVATED")
    end1 = run.service_complete(brt1, [(q1.key, "discount", 15)], [("q2", "quote-sent", "END_EVENT", "NONE")])
    run.none_event(end1)
    run.complete(q1.el)

    # Q2: 'total' is missing: the evaluation fails in 'discount', an incident
    # is raised and the task stays activating
    q2 = run.create(proc, [("orders", 2)], dt=60000)
    s2 = run.el(q2, "quote-requested", "START_EVENT", event_type="NONE")
    brt2 = run.none_event(s2, [("q1", "decide-discount", "BUSINESS_RULE_TASK")])
    p.command(1)
    brt2.ev("ELEMENT_ACTIVATING")
    disc_failed = {"decisionId": "discount", "decisionName": "Discount", "decisionKey": disc_key,
                   "decisionVersion": 1, "decisionType": "DECISION_TABLE", "decisionOutput": "null",
                   "tenantId": "<default>",
                   "evaluatedInputs": [{"inputId": "in_tier", "inputName": "Tier", "inputValue": '"basic"'}],
                   "matchedRules": []}
    e2 = evaluation(brt2, "FAILED", [tier(2, "basic", "r_basic", 3), disc_failed], "null", FAILURE, "discount")
    inc = Incident(brt2, "DECISION_EVALUATION_ERROR", FAILURE)
    inc.ev("CREATED")

    # ---------------------------------------------------------- expected
    def di(rec, i, el, d, state, failure=None):
        fx.expect("decision-instance", "%d-%d" % (rec.key, i), {
            "decisionId": d["decisionId"], "decisionName": d["decisionName"], "decisionType": "DECISION_TABLE",
            "decisionVersion": 1, "decisionKey": d["decisionKey"], "decisionRequirementsKey": drg_key,
            "state": state, "evaluationDate": iso(rec.ts), "evaluationFailure": failure,
            "processInstanceKey": el.pi.key, "processDefinitionKey": proc.key, "flowNodeInstanceKey": el.key,
            "elementId": "decide-discount",
            "evaluatedInputs": [{"id": x["inputId"], "name": x["inputName"], "value": x["inputValue"]}
                                for x in d["evaluatedInputs"]],
            "evaluatedOutputs": [{"id": o["outputId"], "name": o["outputName"], "value": o["outputValue"],
                                  "ruleId": m["ruleId"], "ruleIndex": m["ruleIndex"]}
                                 for m in d["matchedRules"] for o in m["evaluatedOutputs"]],
            "result": d["decisionOutput"], "tenantId": "<default>", "position": rec.pos})

    di(e1, 1, brt1, tier(12, "gold", "r_gold", 1), "EVALUATED")
    di(e1, 2, brt1, disc_ok, "EVALUATED")
    di(e2, 1, brt2, tier(2, "basic", "r_basic", 3), "EVALUATED")
    di(e2, 2, brt2, disc_failed, "FAILED", FAILURE)

    fx.expect("list-view", q1.key, doc_list_view(
        q1, "COMPLETED", q1.el.ts["ELEMENT_ACTIVATING"], q1.el.ts["ELEMENT_COMPLETED"],
        q1.el.pos["ELEMENT_COMPLETED"], "PI_%d" % q1.key, q1.key, "Quote", None))
    fx.expect("list-view", q2.key, doc_list_view(
        q2, "ACTIVE", q2.el.ts["ELEMENT_ACTIVATING"], None, inc.created.pos, "PI_%d" % q2.key, q2.key, "Quote",
        None, incident=True))
    for e, name, pi in [(s1, "Quote requested", q1), (brt1, "Decide discount", q1), (end1, "Quote sent", q1),
                        (s2, "Quote requested", q2)]:
        fx.expect("flownode-instance", e.key, doc_flow_node(
            e, name, "COMPLETED", e.ts["ELEMENT_ACTIVATING"], e.ts["ELEMENT_COMPLETED"],
            e.pos["ELEMENT_COMPLETED"], "%d/%d" % (pi.key, e.key), 1))
    fx.expect("flownode-instance", brt2.key, doc_flow_node(
        brt2, "Decide discount", "ACTIVE", brt2.ts["ELEMENT_ACTIVATING"], None, inc.created.pos,
        "%d/%d" % (q2.key, brt2.key), 1, incident=True, incident_key=inc.key))
    # not a job incident: the Camunda exporter leaves jobKey unset
    fx.expect("incident", inc.key, doc_incident(
        inc, "ACTIVE", inc.created.ts, None, inc.created.pos, "PI_%d/FN_decide-discount/FNI_%d" % (q2.key, brt2.key),
        None))
    run.expect_flows()
    run.expect_vars()
    assert len(run.vars.last) == 4
    return fx
