package simulate

import (
	"crypto/md5"
	"fmt"
)

// definition is a deployed process: its graph and the keys the deployment
// gave it. Read-only once deployed.
type definition struct {
	g            *graph
	key          int64
	deployKey    int64
	version      int32
	resourceName string
	resource     []byte
	callIDs      []string // sorted call activity ids (callingElementPath indexes)
}

// decision is a deployed decision of a decision requirements graph.
type decision struct {
	id, name       string
	key            int64
	drgKey         int64
	drgID, drgName string
	version        int32
}

// deployment is what one workload deployed: keys from the deployment
// partition (1), the same on every partition it was distributed to.
type deployment struct {
	key       int64
	root      *definition
	processes map[string]*definition // by bpmnProcessId
	order     []*definition          // in resource order
	drgs      []deployedDRG
	decisions map[string]*decision
}

type deployedDRG struct {
	res       decisionResource
	key       int64
	resource  []byte
	decisions []*decision
}

// deploy reads a workload's resources and takes their keys from the
// deployment partition's key counter, in Zeebe's order: the deployment,
// then each resource's definitions.
func deploy(s *spec, p1 *Partition) (*deployment, error) {
	d := &deployment{key: p1.NextKey(), processes: map[string]*definition{}, decisions: map[string]*decision{}}
	for _, pr := range s.processes {
		res, err := loadResource(pr.File)
		if err != nil {
			return nil, err
		}
		g, err := parseGraph(res.Content, pr.ProcessID)
		if err != nil {
			return nil, err
		}
		calls, err := callActivityIDs(res.Content, pr.ProcessID)
		if err != nil {
			return nil, fmt.Errorf("simulate: %s: %w", pr.File, err)
		}
		def := &definition{g: g, key: p1.NextKey(), deployKey: d.key, version: 1, resourceName: res.Name, resource: res.Content, callIDs: calls}
		d.processes[g.ID] = def
		d.order = append(d.order, def)
	}
	d.root = d.order[0]
	for _, dr := range s.decisions {
		res, err := loadResource(dr.File)
		if err != nil {
			return nil, err
		}
		drg := deployedDRG{res: dr, key: p1.NextKey(), resource: res.Content}
		for _, dd := range dr.Decisions {
			dec := &decision{id: dd.ID, name: dd.Name, key: p1.NextKey(), drgKey: drg.key, drgID: dr.DRGID, drgName: dr.DRGName, version: 1}
			drg.decisions = append(drg.decisions, dec)
			d.decisions[dd.ID] = dec
		}
		d.drgs = append(d.drgs, drg)
	}
	for _, def := range d.order {
		for _, n := range def.g.nodes {
			if n.CalledElement != "" && d.processes[n.CalledElement] == nil {
				return nil, fmt.Errorf("%w: %s calls undeployed process %s", ErrUnsupportedBPMN, def.g.ID, n.CalledElement)
			}
			if n.DecisionID != "" && d.decisions[n.DecisionID] == nil {
				return nil, fmt.Errorf("%w: %s calls undeployed decision %s", ErrUnsupportedBPMN, def.g.ID, n.DecisionID)
			}
		}
	}
	return d, nil
}

// emit writes the deployment's definition records on partition p: on the
// deployment partition when it is deployed, on the others when the
// deployment is distributed to them (same keys and values). The command
// that caused them is not exported, so they have no source record.
func (d *deployment) emit(p *Partition) {
	for _, def := range d.order {
		sum := md5.Sum(def.resource)
		p.emit(-1, def.key, "PROCESS", "CREATED", map[string]any{
			"bpmnProcessId": def.g.ID, "version": def.version, "processDefinitionKey": def.key,
			"resourceName": def.resourceName, "checksum": sum[:], "resource": def.resource,
			"duplicate": false, "tenantId": tenant, "deploymentKey": def.deployKey, "versionTag": "",
		})
	}
	for _, drg := range d.drgs {
		sum := md5.Sum(drg.resource)
		p.emit(-1, drg.key, "DECISION_REQUIREMENTS", "CREATED", map[string]any{
			"decisionRequirementsId": drg.res.DRGID, "decisionRequirementsName": drg.res.DRGName,
			"decisionRequirementsVersion": int32(1), "decisionRequirementsKey": drg.key, "namespace": drg.res.Namespace,
			"resourceName": drg.res.File, "resource": drg.resource, "checksum": sum[:], "duplicate": false,
			"tenantId": tenant, "deploymentKey": d.key,
		})
		for _, dec := range drg.decisions {
			p.emit(-1, dec.key, "DECISION", "CREATED", map[string]any{
				"decisionId": dec.id, "decisionName": dec.name, "version": dec.version, "decisionKey": dec.key,
				"decisionRequirementsKey": dec.drgKey, "decisionRequirementsId": dec.drgID, "duplicate": false,
				"tenantId": tenant, "deploymentKey": d.key, "versionTag": "",
			})
		}
	}
}

// tenant is the tenant of every generated record.
const tenant = "<default>"
