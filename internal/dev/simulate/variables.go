package simulate

import (
	"encoding/json"
	"strconv"
	"strings"
)

// setLocal creates a variable on scope e (VARIABLE CREATED).
func (t *tree) setLocal(e *elemInst, name, value string) {
	v := &variable{key: t.p.NextKey(), name: name, value: value}
	e.vars = append(e.vars, v)
	t.variableRecord("CREATED", e, v)
}

// merge sets a variable as Zeebe propagates a document: on the nearest
// scope from e up that has it (VARIABLE UPDATED, only when the value
// changes), else created on the process instance.
func (t *tree) merge(e *elemInst, name, value string) {
	for s := e; s != nil; s = s.scope {
		for _, v := range s.vars {
			if v.name == name {
				if v.value != value {
					v.value = value
					t.variableRecord("UPDATED", s, v)
				}
				return
			}
		}
	}
	t.setLocal(e.pi.el, name, value)
}

// lookup returns the JSON text of the variable visible from e, or "".
func (t *tree) lookup(e *elemInst, name string) string {
	for s := e; s != nil; s = s.scope {
		for _, v := range s.vars {
			if v.name == name {
				return v.value
			}
		}
	}
	return ""
}

// varsOf returns the variables of scope e in creation order.
func varsOf(e *elemInst) []kv {
	out := make([]kv, len(e.vars))
	for i, v := range e.vars {
		out[i] = kv{v.name, v.value}
	}
	return out
}

func (t *tree) variableRecord(intent string, scope *elemInst, v *variable) {
	def := scope.pi.def
	t.p.emit(t.src, v.key, "VARIABLE", intent, map[string]any{
		"name": v.name, "value": v.value, "scopeKey": scope.key, "processInstanceKey": scope.pi.key,
		"processDefinitionKey": def.key, "bpmnProcessId": def.g.ID, "tenantId": tenant,
	})
}

// document renders variables as a JSON object.
func document(vars []kv) json.RawMessage {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vars {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(v.Name))
		b.WriteByte(':')
		b.WriteString(v.Value)
	}
	b.WriteByte('}')
	return json.RawMessage(b.String())
}

// jsonArray splits a JSON array's text into its items' texts (nil when the
// text is not an array).
func jsonArray(text string) []string {
	var items []json.RawMessage
	if json.Unmarshal([]byte(text), &items) != nil {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it)
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
