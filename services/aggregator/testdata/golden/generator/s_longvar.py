from lib import *
from steps import Run, deployed
import resources as R

BASE = 1764007200000  # 2025-11-24T18:00:00.000Z
P1 = 1 << 51
LIMIT = 8191


def long_text(n_paragraphs):
    # BMP characters only (ASCII, Latin-1, €): one UTF-16 unit and one rune each,
    # but more than one UTF-8 byte: a cut by bytes would differ from a cut by
    # characters.
    para = ("Sehr geehrte Damen und Herren, die Prüfung Ihres Antrags über 1.250 € ergab: "
            "Straße, Größe und Maß sind korrekt; café, naïve, señor, façade. ")
    return "".join("§%03d %s" % (i, para) for i in range(n_paragraphs))


def long_variable():
    fx = Fixture("long_variable")
    p = fx.part(6, 5200, 640, BASE)  # partition 6
    proc = Proc("document-intake", P1 + 1100, 1, R.INTAKE, "document-intake.bpmn", "", [], P1 + 1099)
    run = deployed(fx, p, proc)
    exact = '"' + "é" * (LIMIT - 2) + '"'          # 8191 characters (16380 bytes): kept whole
    over = '"' + "€" * (LIMIT - 1) + '"'           # 8192 characters: cut to 8191
    payload = {"documentId": "DOC-5521", "pages": 14, "body": long_text(70)}
    payload_text = jtext(payload)
    assert len(payload_text) > LIMIT and len(payload_text.encode("utf-8")) > len(payload_text)
    assert all(ord(c) < 0x10000 for c in payload_text)
    run.p.command(700)
    pi = PI(p, proc)
    for name, text in [("exact", exact), ("over", over), ("payload", payload_text)]:
        run.vars.set(pi, pi.key, name, text)
    p.ev("PROCESS_INSTANCE_CREATION", "CREATED", pi.key, {
        "bpmnProcessId": proc.id, "processDefinitionKey": proc.key, "version": proc.version,
        "variables": {"exact": json.loads(exact), "over": json.loads(over), "payload": payload},
        "startInstructions": [], "runtimeInstructions": [], "processInstanceKey": pi.key,
        "tenantId": "<default>"})
    run.activate(pi.el)
    start = run.el(pi, "doc-received", "START_EVENT", event_type="NONE")
    task = run.none_event(start, [("i1", "extract-text", "SERVICE_TASK")])
    job = run.service_activate(task, "ocr.extract")
    text = long_text(120)
    text_json = jtext(text)
    assert len(text_json) > LIMIT
    run.job_complete(job, "ocr-worker", [("text", text), ("payload", "archived")], dt_work=8000)
    end = run.service_complete(task, [(pi.key, "text", text), (pi.key, "payload", "archived")],
                               [("i2", "doc-filed", "END_EVENT", "NONE")])
    run.none_event(end)
    run.complete(pi.el)

    # ---------------------------------------------------------- expected
    k = pi.key
    fx.expect("list-view", k, doc_list_view(
        pi, "COMPLETED", pi.el.ts["ELEMENT_ACTIVATING"], pi.el.ts["ELEMENT_COMPLETED"],
        pi.el.pos["ELEMENT_COMPLETED"], "PI_%d" % k, k, "Document intake", None))
    for e, name in [(start, "Document received"), (task, "Extract text"), (end, "Document filed")]:
        fx.expect("flownode-instance", e.key, doc_flow_node(
            e, name, "COMPLETED", e.ts["ELEMENT_ACTIVATING"], e.ts["ELEMENT_COMPLETED"],
            e.pos["ELEMENT_COMPLETED"], "%d/%d" % (k, e.key), 1))
    run.expect_flows()
    last = run.vars.last
    fx.expect("variable", "%d-exact" % k, doc_variable(pi, k, "exact", exact, None, False, last[(k, "exact")][2]))
    fx.expect("variable", "%d-over" % k, doc_variable(pi, k, "over", over[:LIMIT], over, True, last[(k, "over")][2]))
    # UPDATED to a short value: no longer a preview
    fx.expect("variable", "%d-payload" % k, doc_variable(pi, k, "payload", '"archived"', None, False,
                                                         last[(k, "payload")][2]))
    fx.expect("variable", "%d-text" % k, doc_variable(pi, k, "text", text_json[:LIMIT], text_json, True,
                                                      last[(k, "text")][2]))
    assert len(last) == 4
    fx.expect("job", job.key, doc_job(job, "COMPLETED", "ocr-worker", 3, job.deadline, job.last_ts, job.last_pos))
    return fx
