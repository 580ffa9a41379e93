package operate

import "testing"

func TestNaming(t *testing.T) {
	for _, c := range []struct {
		ix                                 Index
		prefix                             string
		fqn, alias, template, pattern, arc string
	}{
		{
			ListView, "",
			"operate-list-view-8.3.0_",
			"operate-list-view-8.3.0_alias",
			"operate-list-view-8.3.0_template",
			"operate-list-view-8.3.0_*",
			"operate-list-view-8.3.0_2026-12-06",
		},
		{
			ListView, "dev",
			"dev-operate-list-view-8.3.0_",
			"dev-operate-list-view-8.3.0_alias",
			"dev-operate-list-view-8.3.0_template",
			"dev-operate-list-view-8.3.0_*",
			"dev-operate-list-view-8.3.0_2026-12-06",
		},
		{
			TasklistTask, "",
			"tasklist-task-8.8.0_",
			"tasklist-task-8.8.0_alias",
			"tasklist-task-8.8.0_template",
			"tasklist-task-8.8.0_*",
			"tasklist-task-8.8.0_2026-12-06",
		},
		{
			TasklistForm, "c8",
			"c8-tasklist-form-8.4.0_",
			"c8-tasklist-form-8.4.0_alias",
			"c8-tasklist-form-8.4.0_template",
			"c8-tasklist-form-8.4.0_*",
			"c8-tasklist-form-8.4.0_2026-12-06",
		},
	} {
		name := c.ix.Component + "-" + c.ix.Name + "/" + c.prefix
		for what, got := range map[string][2]string{
			"FQN":          {c.ix.FQN(c.prefix), c.fqn},
			"Alias":        {c.ix.Alias(c.prefix), c.alias},
			"TemplateName": {c.ix.TemplateName(c.prefix), c.template},
			"Pattern":      {c.ix.Pattern(c.prefix), c.pattern},
			"ArchiveIndex": {c.ix.ArchiveIndex(c.prefix, "2026-12-06"), c.arc},
		} {
			if got[0] != got[1] {
				t.Errorf("%s: %s = %q, want %q", name, what, got[0], got[1])
			}
		}
	}
	// Alias and TemplateName extend FQN for every index.
	for _, ix := range Indices {
		for _, p := range []string{"", "dev"} {
			if ix.Alias(p) != ix.FQN(p)+"alias" || ix.TemplateName(p) != ix.FQN(p)+"template" || ix.Pattern(p) != ix.FQN(p)+"*" {
				t.Errorf("%s %q: alias/template/pattern do not extend FQN %q", ix.Name, p, ix.FQN(p))
			}
		}
	}
}
