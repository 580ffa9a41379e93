from lib import *
import resources as R

BASE = 1763974800000  # 2025-11-24T09:00:00.000Z


def deployments():
    fx = Fixture("deployments")
    p1 = fx.part(1, 1000, 400, BASE)
    p2 = fx.part(2, 700, 300, BASE)

    # DEPLOYMENT CREATE on partition 1 (keys from partition 1).
    p1.command(0)
    dkey = p1.key()
    ful = Proc("order-fulfillment", p1.key(), 2, R.ORDER_FULFILLMENT, "order-fulfillment.bpmn", "v2.1",
               ["call-shipping", "call-payment"], dkey)
    pay = Proc("payment", p1.key(), 3, R.PAYMENT, "payment.bpmn", "", [], dkey)
    ref = Proc("refund", p1.key(), 1, R.PAYMENT, "payment.bpmn", "", [], dkey)
    drg_key, tier_key, disc_key, form_key = p1.key(), p1.key(), p1.key(), p1.key()

    def drg_value():
        return {"decisionRequirementsId": "pricing-drg", "decisionRequirementsName": "Pricing",
                "decisionRequirementsVersion": 1, "decisionRequirementsKey": drg_key,
                "namespace": "http://camunda.org/schema/1.0/dmn", "resourceName": "pricing.dmn",
                "resource": b64(R.PRICING_DMN), "checksum": md5b64(R.PRICING_DMN), "duplicate": False,
                "tenantId": "<default>", "deploymentKey": dkey}

    def decision_value(did, name, key):
        return {"decisionId": did, "decisionName": name, "version": 1, "decisionKey": key,
                "decisionRequirementsKey": drg_key, "decisionRequirementsId": "pricing-drg", "duplicate": False,
                "tenantId": "<default>", "deploymentKey": dkey, "versionTag": ""}

    def form_value():
        return {"formId": "approve-order", "version": 1, "formKey": form_key, "resourceName": "approve-order.form",
                "checksum": md5b64(R.APPROVE_FORM), "resource": b64(R.APPROVE_FORM), "duplicate": False,
                "tenantId": "<default>", "deploymentKey": dkey, "versionTag": ""}

    resources = [("order-fulfillment.bpmn", R.ORDER_FULFILLMENT), ("payment.bpmn", R.PAYMENT),
                 ("pricing.dmn", R.PRICING_DMN), ("approve-order.form", R.APPROVE_FORM)]
    drg_meta = [{"decisionRequirementsId": "pricing-drg", "decisionRequirementsName": "Pricing",
                 "decisionRequirementsVersion": 1, "decisionRequirementsKey": drg_key,
                 "namespace": "http://camunda.org/schema/1.0/dmn", "resourceName": "pricing.dmn",
                 "checksum": md5b64(R.PRICING_DMN), "duplicate": False, "tenantId": "<default>",
                 "deploymentKey": dkey}]
    dec_meta = [dict(decision_value("customer-tier", "Customer tier", tier_key)),
                dict(decision_value("discount", "Discount", disc_key))]
    form_meta = [{k: v for k, v in form_value().items() if k != "resource"}]

    def deploy_on(p):
        recs = {}
        recs["ful"] = process_created(p, ful)
        recs["pay"] = process_created(p, pay)
        recs["ref"] = process_created(p, ref)
        recs["drg"] = p.ev("DECISION_REQUIREMENTS", "CREATED", drg_key, drg_value())
        recs["tier"] = p.ev("DECISION", "CREATED", tier_key, decision_value("customer-tier", "Customer tier", tier_key))
        recs["disc"] = p.ev("DECISION", "CREATED", disc_key, decision_value("discount", "Discount", disc_key))
        recs["form"] = p.ev("FORM", "CREATED", form_key, form_value())
        deployment_created(p, dkey, [ful, pay, ref], resources, drg_meta, dec_meta, form_meta)
        return recs

    own = deploy_on(p1)
    # Distribution: partition 2 processes the distributed DEPLOYMENT CREATE and
    # writes the same definitions under the same (partition 1) keys.
    p2.command(45)
    deploy_on(p2)

    # Later: the refund process is deleted (resource deletion on partition 1,
    # then distributed). PROCESS DELETED has its own key and carries neither
    # resource nor checksum.
    def delete_on(p, dt):
        p.command(dt)
        p.ev("RESOURCE_DELETION", "DELETING", ref.key,
             {"resourceKey": ref.key, "tenantId": "<default>", "deleteHistory": False})
        v = ref.value(with_resource=False)
        p.ev("PROCESS", "DELETING", p.key(), v)
        r = p.ev("PROCESS", "DELETED", p.key(), v)
        p.ev("RESOURCE_DELETION", "DELETED", ref.key,
             {"resourceKey": ref.key, "tenantId": "<default>", "deleteHistory": False})
        return r

    p1.ts = BASE + 3 * 3600 * 1000
    p2.ts = p1.ts
    deleted = delete_on(p1, 0)
    delete_on(p2, 38)

    # ---- expected: only partition 1 (the partition in the keys) writes definitions.
    def process_doc(proc, name, version_tag, flow_nodes, call_ids, deleted, position):
        return {"key": proc.key, "bpmnProcessId": proc.id, "version": proc.version, "versionTag": version_tag,
                "name": name, "resourceName": proc.resource_name, "bpmnXml": proc.xml,
                "flowNodes": [{"id": i, "name": n} for i, n in flow_nodes], "callActivityIds": call_ids,
                "deleted": deleted, "tenantId": "<default>", "position": position}

    fx.expect("process", ful.key, process_doc(
        ful, "Order fulfillment", "v2.1",
        [("order-received", "Order received"), ("decide-discount", "Decide discount"),
         ("approve-order", "Approve order"), ("fulfil", "Fulfil order"), ("fulfil-start", ""),
         ("call-shipping", "Ship order"), ("call-payment", "Collect payment"), ("fulfil-end", ""),
         ("order-done", "Order fulfilled")],
        ["call-payment", "call-shipping"], False, own["ful"].pos))
    fx.expect("process", pay.key, process_doc(
        pay, "Payment", None,
        [("payment-requested", "Payment requested"), ("charge", "Charge card"), ("charge-declined", "Card declined"),
         ("payment-collected", "Payment collected"), ("payment-failed", "Payment failed")],
        [], False, own["pay"].pos))
    # DELETED marks the document deleted; everything else stays as CREATED left it.
    fx.expect("process", ref.key, process_doc(
        ref, "Refund", None,
        [("refund-requested", "Refund requested"), ("refund-card", "Refund card"), ("refunded", "")],
        [], True, deleted.pos))
    fx.expect("decision-requirements", drg_key, {
        "key": drg_key, "decisionRequirementsId": "pricing-drg", "name": "Pricing", "version": 1,
        "resourceName": "pricing.dmn", "xml": R.PRICING_DMN, "tenantId": "<default>", "position": own["drg"].pos})
    fx.expect("decision", tier_key, {
        "key": tier_key, "decisionId": "customer-tier", "name": "Customer tier", "version": 1,
        "decisionRequirementsKey": drg_key, "decisionRequirementsId": "pricing-drg", "tenantId": "<default>",
        "position": own["tier"].pos})
    fx.expect("decision", disc_key, {
        "key": disc_key, "decisionId": "discount", "name": "Discount", "version": 1,
        "decisionRequirementsKey": drg_key, "decisionRequirementsId": "pricing-drg", "tenantId": "<default>",
        "position": own["disc"].pos})
    fx.expect("form", form_key, {
        "key": form_key, "formId": "approve-order", "version": 1, "schema": R.APPROVE_FORM,
        "tenantId": "<default>", "position": own["form"].pos})
    return fx
