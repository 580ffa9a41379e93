from lib import *
from steps import Run, deployed
import resources as R

BASE = 1763996400000  # 2025-11-24T15:00:00.000Z
P1 = 1 << 51


class ReviewTask:
    def __init__(self, el):
        self.el, self.key, self.created = el, el.pi.part.key(), el.pi.part.ts

    def ev(self, intent):
        el, pi = self.el, self.el.pi
        return pi.part.ev("USER_TASK", intent, self.key, {
            "bpmnProcessId": pi.proc.id, "processDefinitionKey": pi.proc.key,
            "processDefinitionVersion": pi.proc.version, "processInstanceKey": pi.key, "elementId": el.id,
            "elementInstanceKey": el.key, "assignee": "", "candidateGroupsList": ["underwriters"],
            "candidateUsersList": ["uwe"], "creationTimestamp": self.created, "dueDate": "", "followUpDate": "",
            "changedAttributes": [], "externalFormReference": "", "variables": {}, "customHeaders": {},
            "action": "", "formKey": -1, "userTaskKey": self.key, "tenantId": pi.tenant, "priority": 50,
            "deniedReason": ""})


def cancel():
    fx = Fixture("cancel")
    p = fx.part(3, 77000, 5100, BASE)
    proc = Proc("loan-application", P1 + 905, 2, R.LOAN, "loan-application.bpmn", "", [], P1 + 904)
    run = deployed(fx, p, proc)
    pi = run.create(proc, [("applicant", "Jan Kowalski"), ("amount", 25000)], dt=1500)
    start = run.el(pi, "loan-start", "START_EVENT", event_type="NONE")
    fork = run.none_event(start, [("l1", "loan-fork", "PARALLEL_GATEWAY")])
    credit, docs, review = run.gateway(fork, [("l2", "check-credit", "SERVICE_TASK"),
                                              ("l3", "collect-docs", "SUB_PROCESS"),
                                              ("l7", "review-application", "USER_TASK")])
    job_credit = run.service_activate(credit, "credit.check", retries=1)
    run.activate(docs)
    p.command(1)
    review.ev("ELEMENT_ACTIVATING")
    task = ReviewTask(review)
    task.ev("CREATING")
    r_created = task.ev("CREATED")
    review.ev("ELEMENT_ACTIVATED")
    dstart = El(pi, "docs-start", "START_EVENT", scope=docs, event_type="NONE")
    request = run.none_event(dstart, [("d1", "request-docs", "SERVICE_TASK")], scope=docs)
    job_request = run.service_activate(request, "docs.request")
    # the credit check fails without retries: incident
    job_credit.activate("credit-worker", 300)
    p.command(5000)
    job_credit.retries, job_credit.error_message = 0, "Credit bureau unavailable (HTTP 503)"
    job_credit.ev("FAILED")
    inc = Incident(credit, "JOB_NO_RETRIES", "Credit bureau unavailable (HTTP 503)", job_credit)
    inc.ev("CREATED")

    # the instance is cancelled: the process terminates its active children;
    # terminating a task cancels its job and resolves its incidents
    p.command(3600000)  # PROCESS_INSTANCE CANCEL
    pi.el.ev("ELEMENT_TERMINATING")
    p.command(1)
    credit.ev("ELEMENT_TERMINATING")
    job_credit.ev("CANCELED")
    inc.ev("RESOLVED")
    credit.ev("ELEMENT_TERMINATED")
    p.command(1)
    docs.ev("ELEMENT_TERMINATING")
    p.command(1)
    request.ev("ELEMENT_TERMINATING")
    job_request.ev("CANCELED")
    request.ev("ELEMENT_TERMINATED")
    docs.ev("ELEMENT_TERMINATED")
    p.command(1)
    review.ev("ELEMENT_TERMINATING")
    task.ev("CANCELING")
    r_canceled = task.ev("CANCELED")
    review.ev("ELEMENT_TERMINATED")
    pi.el.ev("ELEMENT_TERMINATED")

    # ---------------------------------------------------------- expected
    k = pi.key
    fx.expect("list-view", k, doc_list_view(
        pi, "CANCELED", pi.el.ts["ELEMENT_ACTIVATING"], pi.el.ts["ELEMENT_TERMINATED"],
        pi.el.pos["ELEMENT_TERMINATED"], "PI_%d" % k, k, "Loan application", None))
    run.expect_completed([(start, "Application received", "%d/%d" % (k, start.key), 1),
                          (fork, "loan-fork", "%d/%d" % (k, fork.key), 1),
                          (dstart, "docs-start", "%d/%d/%d" % (k, docs.key, dstart.key), 2)])
    for e, name, path, level in [(credit, "Check credit score", "%d/%d" % (k, credit.key), 1),
                                 (docs, "Collect documents", "%d/%d" % (k, docs.key), 1),
                                 (request, "Request documents", "%d/%d/%d" % (k, docs.key, request.key), 2),
                                 (review, "Review application", "%d/%d" % (k, review.key), 1)]:
        fx.expect("flownode-instance", e.key, doc_flow_node(
            e, name, "TERMINATED", e.ts["ELEMENT_ACTIVATING"], e.ts["ELEMENT_TERMINATED"],
            e.pos["ELEMENT_TERMINATED"], path, level))
    # the user task is canceled with its element
    fx.expect("task", task.key, {
        "key": task.key, "processInstanceKey": k, "flowNodeInstanceKey": review.key,
        "flowNodeBpmnId": "review-application", "bpmnProcessId": "loan-application", "processDefinitionKey": proc.key,
        "name": "Review application", "state": "CANCELED", "assignee": None, "candidateGroups": ["underwriters"],
        "candidateUsers": ["uwe"], "dueDate": None, "followUpDate": None, "formKey": None, "priority": 50,
        "creationTime": iso(r_created.ts), "completionTime": iso(r_canceled.ts), "tenantId": "<default>",
        "position": r_canceled.pos})
    fx.expect("incident", inc.key, doc_incident(
        inc, "RESOLVED", inc.created.ts, inc.resolved.ts, inc.resolved.pos,
        "PI_%d/FN_check-credit/FNI_%d" % (k, credit.key), job_credit.key))
    fx.expect("job", job_credit.key, doc_job(
        job_credit, "CANCELED", "credit-worker", 0, job_credit.deadline, job_credit.last_ts, job_credit.last_pos,
        error_message="Credit bureau unavailable (HTTP 503)"))
    fx.expect("job", job_request.key, doc_job(
        job_request, "CANCELED", "", 3, None, job_request.last_ts, job_request.last_pos))
    run.expect_flows()
    want = {"applicant": '"Jan Kowalski"', "amount": "25000"}
    run.expect_vars(want)
    return fx
