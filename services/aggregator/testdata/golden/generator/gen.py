"""Writes the golden fixtures: python3 gen.py [outdir] (default: the parent folder).

The records come from a model of the engine (steps.py); every expected
document is spelled out in its scenario file from the contract (issue 3),
field by field. Nothing here reads the aggregator's output.
"""
import os
import sys

import s_call
import s_cancel
import s_decision
import s_deploy
import s_incident
import s_longvar
import s_multi
import s_service
import s_sub
import s_usertask

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
for f in [s_deploy.deployments, s_service.service_gateways, s_sub.embedded_subprocess, s_call.call_activity,
          s_multi.multi_instance, s_incident.incidents, s_cancel.cancel, s_usertask.user_task,
          s_decision.business_rule, s_longvar.long_variable]:
    fx = f()
    fx.write(out)
    print(fx.name, len(fx.lines), "records", len(fx.expected), "documents")
