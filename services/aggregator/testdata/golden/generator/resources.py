"""Deployment resources as Camunda Modeler 5.x writes them."""

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="%s" targetNamespace="http://bpmn.io/schema/bpmn" '
        'exporter="Camunda Modeler" exporterVersion="5.41.0" modeler:executionPlatform="Camunda Cloud" '
        'modeler:executionPlatformVersion="8.8.0">\n')

# --------------------------------------------------------------- deployment

ORDER_FULFILLMENT = HEAD % "Definitions_0k2fulf" + '''  <bpmn:process id="order-fulfillment" name="Order fulfillment" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:versionTag value="v2.1" />
    </bpmn:extensionElements>
    <bpmn:startEvent id="order-received" name="Order received">
      <bpmn:outgoing>Flow_0received</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_0received" sourceRef="order-received" targetRef="decide-discount" />
    <bpmn:businessRuleTask id="decide-discount" name="Decide discount">
      <bpmn:extensionElements>
        <zeebe:calledDecision decisionId="discount" resultVariable="discount" />
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_0received</bpmn:incoming>
      <bpmn:outgoing>Flow_1decided</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="Flow_1decided" sourceRef="decide-discount" targetRef="approve-order" />
    <bpmn:userTask id="approve-order" name="Approve order">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:formDefinition formId="approve-order" />
        <zeebe:assignmentDefinition candidateGroups="sales" />
        <zeebe:priorityDefinition priority="70" />
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1decided</bpmn:incoming>
      <bpmn:outgoing>Flow_2approved</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2approved" sourceRef="approve-order" targetRef="fulfil" />
    <bpmn:subProcess id="fulfil" name="Fulfil order">
      <bpmn:incoming>Flow_2approved</bpmn:incoming>
      <bpmn:outgoing>Flow_3fulfilled</bpmn:outgoing>
      <bpmn:startEvent id="fulfil-start">
        <bpmn:outgoing>Flow_4</bpmn:outgoing>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="Flow_4" sourceRef="fulfil-start" targetRef="call-shipping" />
      <bpmn:callActivity id="call-shipping" name="Ship order">
        <bpmn:extensionElements>
          <zeebe:calledElement processId="ship-parcel" propagateAllChildVariables="false" />
        </bpmn:extensionElements>
        <bpmn:incoming>Flow_4</bpmn:incoming>
        <bpmn:outgoing>Flow_5</bpmn:outgoing>
      </bpmn:callActivity>
      <bpmn:sequenceFlow id="Flow_5" sourceRef="call-shipping" targetRef="call-payment" />
      <bpmn:callActivity id="call-payment" name="Collect payment">
        <bpmn:extensionElements>
          <zeebe:calledElement processId="payment" propagateAllChildVariables="false" />
        </bpmn:extensionElements>
        <bpmn:incoming>Flow_5</bpmn:incoming>
        <bpmn:outgoing>Flow_6</bpmn:outgoing>
      </bpmn:callActivity>
      <bpmn:sequenceFlow id="Flow_6" sourceRef="call-payment" targetRef="fulfil-end" />
      <bpmn:endEvent id="fulfil-end">
        <bpmn:incoming>Flow_6</bpmn:incoming>
      </bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="Flow_3fulfilled" sourceRef="fulfil" targetRef="order-done" />
    <bpmn:endEvent id="order-done" name="Order fulfilled">
      <bpmn:incoming>Flow_3fulfilled</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="order-fulfillment">
      <bpmndi:BPMNShape id="order-received_di" bpmnElement="order-received">
        <dc:Bounds x="152" y="182" width="36" height="36" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="133" y="225" width="75" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="decide-discount_di" bpmnElement="decide-discount">
        <dc:Bounds x="240" y="160" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="approve-order_di" bpmnElement="approve-order">
        <dc:Bounds x="390" y="160" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="fulfil_di" bpmnElement="fulfil" isExpanded="true">
        <dc:Bounds x="540" y="100" width="470" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="fulfil-start_di" bpmnElement="fulfil-start">
        <dc:Bounds x="572" y="182" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="call-shipping_di" bpmnElement="call-shipping">
        <dc:Bounds x="650" y="160" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="call-payment_di" bpmnElement="call-payment">
        <dc:Bounds x="800" y="160" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="fulfil-end_di" bpmnElement="fulfil-end">
        <dc:Bounds x="942" y="182" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="order-done_di" bpmnElement="order-done">
        <dc:Bounds x="1062" y="182" width="36" height="36" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="1043" y="225" width="75" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_0received_di" bpmnElement="Flow_0received">
        <di:waypoint x="188" y="200" />
        <di:waypoint x="240" y="200" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_1decided_di" bpmnElement="Flow_1decided">
        <di:waypoint x="340" y="200" />
        <di:waypoint x="390" y="200" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_2approved_di" bpmnElement="Flow_2approved">
        <di:waypoint x="490" y="200" />
        <di:waypoint x="540" y="200" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_4_di" bpmnElement="Flow_4">
        <di:waypoint x="608" y="200" />
        <di:waypoint x="650" y="200" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_5_di" bpmnElement="Flow_5">
        <di:waypoint x="750" y="200" />
        <di:waypoint x="800" y="200" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_6_di" bpmnElement="Flow_6">
        <di:waypoint x="900" y="200" />
        <di:waypoint x="942" y="200" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_3fulfilled_di" bpmnElement="Flow_3fulfilled">
        <di:waypoint x="1010" y="200" />
        <di:waypoint x="1062" y="200" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
'''

# Two pools in one resource: two PROCESS records share it.
PAYMENT = HEAD % "Definitions_1pay" + '''  <bpmn:collaboration id="Collaboration_payments">
    <bpmn:participant id="Participant_payment" name="Payment service" processRef="payment" />
    <bpmn:participant id="Participant_refund" name="Refund service" processRef="refund" />
  </bpmn:collaboration>
  <bpmn:process id="payment" name="Payment" isExecutable="true">
    <bpmn:startEvent id="payment-requested" name="Payment requested">
      <bpmn:outgoing>Flow_p1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_p1" sourceRef="payment-requested" targetRef="charge" />
    <bpmn:serviceTask id="charge" name="Charge card">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="payment.charge" retries="3" />
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_p1</bpmn:incoming>
      <bpmn:outgoing>Flow_p2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="charge-declined" name="Card declined" attachedToRef="charge">
      <bpmn:outgoing>Flow_p3</bpmn:outgoing>
      <bpmn:errorEventDefinition id="ErrorEventDefinition_0decl" errorRef="Error_declined" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_p2" sourceRef="charge" targetRef="payment-collected" />
    <bpmn:endEvent id="payment-collected" name="Payment collected">
      <bpmn:incoming>Flow_p2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_p3" sourceRef="charge-declined" targetRef="payment-failed" />
    <bpmn:endEvent id="payment-failed" name="Payment failed">
      <bpmn:incoming>Flow_p3</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
  <bpmn:process id="refund" name="Refund" isExecutable="true">
    <bpmn:startEvent id="refund-requested" name="Refund requested">
      <bpmn:outgoing>Flow_r1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_r1" sourceRef="refund-requested" targetRef="refund-card" />
    <bpmn:serviceTask id="refund-card" name="Refund card">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="payment.refund" />
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_r1</bpmn:incoming>
      <bpmn:outgoing>Flow_r2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="Flow_r2" sourceRef="refund-card" targetRef="refunded" />
    <bpmn:endEvent id="refunded">
      <bpmn:incoming>Flow_r2</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
  <bpmn:error id="Error_declined" name="Card declined" errorCode="DECLINED" />
</bpmn:definitions>
'''

PRICING_DMN = '''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" xmlns:di="http://www.omg.org/spec/DMN/20180521/DI/" xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="pricing-drg" name="Pricing" namespace="http://camunda.org/schema/1.0/dmn" exporter="Camunda Modeler" exporterVersion="5.41.0" modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.8.0">
  <decision id="customer-tier" name="Customer tier">
    <decisionTable id="DecisionTable_tier" hitPolicy="UNIQUE">
      <input id="in_orders" label="Orders last year">
        <inputExpression id="LiteralExpression_orders" typeRef="number">
          <text>orders</text>
        </inputExpression>
      </input>
      <output id="out_tier" label="Tier" name="tier" typeRef="string" />
      <rule id="r_gold">
        <inputEntry id="UnaryTests_gold">
          <text>&gt;= 10</text>
        </inputEntry>
        <outputEntry id="LiteralExpression_gold">
          <text>"gold"</text>
        </outputEntry>
      </rule>
      <rule id="r_silver">
        <inputEntry id="UnaryTests_silver">
          <text>[3..10)</text>
        </inputEntry>
        <outputEntry id="LiteralExpression_silver">
          <text>"silver"</text>
        </outputEntry>
      </rule>
      <rule id="r_basic">
        <inputEntry id="UnaryTests_basic">
          <text>&lt; 3</text>
        </inputEntry>
        <outputEntry id="LiteralExpression_basic">
          <text>"basic"</text>
        </outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <decision id="discount" name="Discount">
    <informationRequirement id="InformationRequirement_tier">
      <requiredDecision href="#customer-tier" />
    </informationRequirement>
    <decisionTable id="DecisionTable_discount" hitPolicy="FIRST">
      <input id="in_tier" label="Tier">
        <inputExpression id="LiteralExpression_tier" typeRef="string">
          <text>tier</text>
        </inputExpression>
      </input>
      <input id="in_total" label="Order total">
        <inputExpression id="LiteralExpression_total" typeRef="number">
          <text>total</text>
        </inputExpression>
      </input>
      <output id="out_pct" label="Discount %" name="discount" typeRef="number" />
      <rule id="r_gold_big">
        <inputEntry id="UnaryTests_t1">
          <text>"gold"</text>
        </inputEntry>
        <inputEntry id="UnaryTests_v1">
          <text>&gt; 100</text>
        </inputEntry>
        <outputEntry id="LiteralExpression_o1">
          <text>15</text>
        </outputEntry>
      </rule>
      <rule id="r_silver_big">
        <inputEntry id="UnaryTests_t2">
          <text>"silver"</text>
        </inputEntry>
        <inputEntry id="UnaryTests_v2">
          <text>&gt; 100</text>
        </inputEntry>
        <outputEntry id="LiteralExpression_o2">
          <text>5</text>
        </outputEntry>
      </rule>
      <rule id="r_default">
        <inputEntry id="UnaryTests_t3">
          <text>-</text>
        </inputEntry>
        <inputEntry id="UnaryTests_v3">
          <text>-</text>
        </inputEntry>
        <outputEntry id="LiteralExpression_o3">
          <text>0</text>
        </outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <dmndi:DMNDI>
    <dmndi:DMNDiagram id="DMNDiagram_pricing">
      <dmndi:DMNShape id="DMNShape_tier" dmnElementRef="customer-tier">
        <dc:Bounds height="80" width="180" x="160" y="280" />
      </dmndi:DMNShape>
      <dmndi:DMNEdge id="DMNEdge_tier" dmnElementRef="InformationRequirement_tier">
        <di:waypoint x="250" y="280" />
        <di:waypoint x="250" y="200" />
      </dmndi:DMNEdge>
      <dmndi:DMNShape id="DMNShape_discount" dmnElementRef="discount">
        <dc:Bounds height="80" width="180" x="160" y="120" />
      </dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>
'''

APPROVE_FORM = '''{
  "components": [
    {
      "label": "Approved",
      "type": "checkbox",
      "layout": {
        "row": "Row_0approved",
        "columns": null
      },
      "id": "Field_approved",
      "key": "approved",
      "defaultValue": false
    },
    {
      "label": "Comment",
      "type": "textarea",
      "layout": {
        "row": "Row_1comment",
        "columns": null
      },
      "id": "Field_comment",
      "key": "comment",
      "validate": {
        "maxLength": 500
      }
    }
  ],
  "type": "default",
  "id": "approve-order",
  "executionPlatform": "Camunda Cloud",
  "executionPlatformVersion": "8.8.0",
  "exporter": {
    "name": "Camunda Modeler",
    "version": "5.41.0"
  },
  "schemaVersion": 18
}'''

# ------------------------------------------------------- scenario processes

SHOP = HEAD % "Definitions_shop" + '''  <bpmn:process id="order-process" name="Order process" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:versionTag value="v1.4" />
    </bpmn:extensionElements>
    <bpmn:startEvent id="start" name="Order received" />
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="reserve-stock" />
    <bpmn:serviceTask id="reserve-stock" name="Reserve stock">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="inventory.reserve" retries="3" />
        <zeebe:taskHeaders>
          <zeebe:header key="warehouse" value="DC-Berlin" />
          <zeebe:header key="priority" value="high" />
        </zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f_reserved" sourceRef="reserve-stock" targetRef="express-check" />
    <bpmn:exclusiveGateway id="express-check" name="Express?" default="f_standard" />
    <bpmn:sequenceFlow id="f_express" sourceRef="express-check" targetRef="ship-express">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">=express = true</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_standard" sourceRef="express-check" targetRef="ship-standard" />
    <bpmn:serviceTask id="ship-express" name="Ship express">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="shipping.express" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="ship-standard" name="Ship standard">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="shipping.standard" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f_express_done" sourceRef="ship-express" targetRef="shipped" />
    <bpmn:sequenceFlow id="f_standard_done" sourceRef="ship-standard" targetRef="shipped" />
    <bpmn:exclusiveGateway id="shipped" />
    <bpmn:sequenceFlow id="f_to_fork" sourceRef="shipped" targetRef="fork" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:sequenceFlow id="f_charge" sourceRef="fork" targetRef="charge-card" />
    <bpmn:sequenceFlow id="f_invoice" sourceRef="fork" targetRef="send-invoice" />
    <bpmn:serviceTask id="charge-card" name="Charge card">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="payment.charge" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="send-invoice" name="Send invoice">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="billing.invoice" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f_charged" sourceRef="charge-card" targetRef="join" />
    <bpmn:sequenceFlow id="f_invoiced" sourceRef="send-invoice" targetRef="join" />
    <bpmn:parallelGateway id="join" />
    <bpmn:sequenceFlow id="f_to_end" sourceRef="join" targetRef="end" />
    <bpmn:endEvent id="end" name="Order completed" />
  </bpmn:process>
</bpmn:definitions>
'''

CLAIM = HEAD % "Definitions_claim" + '''  <bpmn:process id="claim-process" name="Insurance claim" isExecutable="true">
    <bpmn:startEvent id="claim-filed" name="Claim filed" />
    <bpmn:sequenceFlow id="c1" sourceRef="claim-filed" targetRef="register-claim" />
    <bpmn:serviceTask id="register-claim" name="Register claim">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="claims.register" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="c2" sourceRef="register-claim" targetRef="assess" />
    <bpmn:subProcess id="assess" name="Assess claim">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=claim.amount" target="claimedAmount" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:startEvent id="assess-start" />
      <bpmn:sequenceFlow id="a1" sourceRef="assess-start" targetRef="estimate-damage" />
      <bpmn:serviceTask id="estimate-damage" name="Estimate damage">
        <bpmn:extensionElements>
          <zeebe:taskDefinition type="claims.estimate" />
        </bpmn:extensionElements>
      </bpmn:serviceTask>
      <bpmn:sequenceFlow id="a2" sourceRef="estimate-damage" targetRef="assess-end" />
      <bpmn:endEvent id="assess-end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="c3" sourceRef="assess" targetRef="claim-settled" />
    <bpmn:endEvent id="claim-settled" name="Claim settled" />
  </bpmn:process>
</bpmn:definitions>
'''

SHIPMENT = HEAD % "Definitions_shipment" + '''  <bpmn:process id="shipment" name="Shipment" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:versionTag value="2025.11" />
    </bpmn:extensionElements>
    <bpmn:startEvent id="ship-requested" name="Shipment requested" />
    <bpmn:sequenceFlow id="s1" sourceRef="ship-requested" targetRef="needs-customs" />
    <bpmn:exclusiveGateway id="needs-customs" name="Customs needed?" default="s_domestic" />
    <bpmn:sequenceFlow id="s_customs" sourceRef="needs-customs" targetRef="call-customs">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">=country != "DE"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="s_domestic" sourceRef="needs-customs" targetRef="call-ship" />
    <bpmn:callActivity id="call-customs" name="Clear customs">
      <bpmn:extensionElements>
        <zeebe:calledElement processId="customs-clearance" propagateAllChildVariables="false" />
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:callActivity id="call-ship" name="Ship parcel">
      <bpmn:extensionElements>
        <zeebe:calledElement processId="ship-parcel" propagateAllChildVariables="true" />
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:sequenceFlow id="s2" sourceRef="call-customs" targetRef="call-ship" />
    <bpmn:sequenceFlow id="s3" sourceRef="call-ship" targetRef="shipment-done" />
    <bpmn:endEvent id="shipment-done" name="Shipment done" />
  </bpmn:process>
</bpmn:definitions>
'''

# No name: list-view processName falls back to the bpmnProcessId.
SHIP_PARCEL = HEAD % "Definitions_parcel" + '''  <bpmn:process id="ship-parcel" isExecutable="true">
    <bpmn:startEvent id="parcel-start" />
    <bpmn:sequenceFlow id="p1" sourceRef="parcel-start" targetRef="print-label" />
    <bpmn:serviceTask id="print-label" name="Print label">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="parcel.label" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="p2" sourceRef="print-label" targetRef="parcel-end" />
    <bpmn:endEvent id="parcel-end" />
  </bpmn:process>
</bpmn:definitions>
'''

NOTIFY = HEAD % "Definitions_notify" + '''  <bpmn:process id="batch-notify" name="Notify recipients" isExecutable="true">
    <bpmn:startEvent id="notify-start" name="Batch ready" />
    <bpmn:sequenceFlow id="n1" sourceRef="notify-start" targetRef="notify" />
    <bpmn:serviceTask id="notify" name="Notify recipient">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="notify.email" />
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="=recipients" inputElement="recipient" outputCollection="deliveries" outputElement="=deliveryStatus" />
        </bpmn:extensionElements>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="n2" sourceRef="notify" targetRef="notify-end" />
    <bpmn:endEvent id="notify-end" name="All notified" />
  </bpmn:process>
</bpmn:definitions>
'''

ORCHESTRATION = HEAD % "Definitions_orch" + '''  <bpmn:process id="payment-orchestration" name="Payment orchestration" isExecutable="true">
    <bpmn:startEvent id="orch-start" name="Invoice due" />
    <bpmn:sequenceFlow id="o1" sourceRef="orch-start" targetRef="settle" />
    <bpmn:subProcess id="settle" name="Settlement">
      <bpmn:startEvent id="settle-start" />
      <bpmn:sequenceFlow id="o2" sourceRef="settle-start" targetRef="call-charge" />
      <bpmn:callActivity id="call-charge" name="Charge customer">
        <bpmn:extensionElements>
          <zeebe:calledElement processId="charge-card" propagateAllChildVariables="true" />
        </bpmn:extensionElements>
      </bpmn:callActivity>
      <bpmn:sequenceFlow id="o3" sourceRef="call-charge" targetRef="settle-end" />
      <bpmn:endEvent id="settle-end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="o4" sourceRef="settle" targetRef="orch-end" />
    <bpmn:endEvent id="orch-end" name="Invoice settled" />
  </bpmn:process>
</bpmn:definitions>
'''

CHARGE = HEAD % "Definitions_charge" + '''  <bpmn:process id="charge-card" name="Charge card" isExecutable="true">
    <bpmn:startEvent id="charge-start" />
    <bpmn:sequenceFlow id="k1" sourceRef="charge-start" targetRef="charge" />
    <bpmn:serviceTask id="charge" name="Charge">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="payment.charge" retries="2" />
        <zeebe:taskHeaders>
          <zeebe:header key="psp" value="adyen" />
        </zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="k2" sourceRef="charge" targetRef="charge-end" />
    <bpmn:endEvent id="charge-end" />
  </bpmn:process>
</bpmn:definitions>
'''

LOAN = HEAD % "Definitions_loan" + '''  <bpmn:process id="loan-application" name="Loan application" isExecutable="true">
    <bpmn:startEvent id="loan-start" name="Application received" />
    <bpmn:sequenceFlow id="l1" sourceRef="loan-start" targetRef="loan-fork" />
    <bpmn:parallelGateway id="loan-fork" />
    <bpmn:sequenceFlow id="l2" sourceRef="loan-fork" targetRef="check-credit" />
    <bpmn:sequenceFlow id="l3" sourceRef="loan-fork" targetRef="collect-docs" />
    <bpmn:sequenceFlow id="l7" sourceRef="loan-fork" targetRef="review-application" />
    <bpmn:userTask id="review-application" name="Review application">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:assignmentDefinition candidateGroups="underwriters" candidateUsers="uwe" />
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="l8" sourceRef="review-application" targetRef="loan-join" />
    <bpmn:serviceTask id="check-credit" name="Check credit score">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="credit.check" retries="1" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:subProcess id="collect-docs" name="Collect documents">
      <bpmn:startEvent id="docs-start" />
      <bpmn:sequenceFlow id="d1" sourceRef="docs-start" targetRef="request-docs" />
      <bpmn:serviceTask id="request-docs" name="Request documents">
        <bpmn:extensionElements>
          <zeebe:taskDefinition type="docs.request" />
        </bpmn:extensionElements>
      </bpmn:serviceTask>
      <bpmn:sequenceFlow id="d2" sourceRef="request-docs" targetRef="docs-end" />
      <bpmn:endEvent id="docs-end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="l4" sourceRef="check-credit" targetRef="loan-join" />
    <bpmn:sequenceFlow id="l5" sourceRef="collect-docs" targetRef="loan-join" />
    <bpmn:parallelGateway id="loan-join" />
    <bpmn:sequenceFlow id="l6" sourceRef="loan-join" targetRef="loan-end" />
    <bpmn:endEvent id="loan-end" name="Application decided" />
  </bpmn:process>
</bpmn:definitions>
'''

APPROVAL = HEAD % "Definitions_approval" + '''  <bpmn:process id="order-approval" name="Order approval" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:versionTag value="v3" />
    </bpmn:extensionElements>
    <bpmn:startEvent id="approval-requested" name="Approval requested" />
    <bpmn:sequenceFlow id="u1" sourceRef="approval-requested" targetRef="approve" />
    <bpmn:userTask id="approve" name="Approve order">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:formDefinition formId="approve-order" />
        <zeebe:assignmentDefinition candidateGroups="sales, managers" candidateUsers="anna, bob" />
        <zeebe:taskSchedule dueDate="=dueAt" />
        <zeebe:priorityDefinition priority="70" />
        <zeebe:taskListeners>
          <zeebe:taskListener eventType="assigning" type="audit.assignment" />
          <zeebe:taskListener eventType="completing" type="audit.completion" />
        </zeebe:taskListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="u2" sourceRef="approve" targetRef="approval-done" />
    <bpmn:endEvent id="approval-done" name="Order approved" />
  </bpmn:process>
</bpmn:definitions>
'''

QUOTE = HEAD % "Definitions_quote" + '''  <bpmn:process id="quote" name="Quote" isExecutable="true">
    <bpmn:startEvent id="quote-requested" name="Quote requested" />
    <bpmn:sequenceFlow id="q1" sourceRef="quote-requested" targetRef="decide-discount" />
    <bpmn:businessRuleTask id="decide-discount" name="Decide discount">
      <bpmn:extensionElements>
        <zeebe:calledDecision decisionId="discount" resultVariable="discount" />
      </bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="q2" sourceRef="decide-discount" targetRef="quote-sent" />
    <bpmn:endEvent id="quote-sent" name="Quote sent" />
  </bpmn:process>
</bpmn:definitions>
'''

INTAKE = HEAD % "Definitions_intake" + '''  <bpmn:process id="document-intake" name="Document intake" isExecutable="true">
    <bpmn:startEvent id="doc-received" name="Document received" />
    <bpmn:sequenceFlow id="i1" sourceRef="doc-received" targetRef="extract-text" />
    <bpmn:serviceTask id="extract-text" name="Extract text">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="ocr.extract" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="i2" sourceRef="extract-text" targetRef="doc-filed" />
    <bpmn:endEvent id="doc-filed" name="Document filed" />
  </bpmn:process>
</bpmn:definitions>
'''
