package lease

import (
	"hash/fnv"
	"slices"
)

// targets splits n partitions among members deterministically: members are
// sorted, each gets n/len(members), and the first n%len(members) get one
// more. Every replica computes the same split from the same member list, so
// the targets add up to n and differ by at most one. Duplicates in members
// count once.
func targets(members []string, n int) map[string]int {
	sorted := slices.Clone(members)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	out := make(map[string]int, len(sorted))
	if len(sorted) == 0 {
		return out
	}
	base, extra := n/len(sorted), n%len(sorted)
	for i, m := range sorted {
		out[m] = base
		if i < extra {
			out[m]++
		}
	}
	return out
}

// plan decides one balancing step for a replica that holds active (leases
// it is not already giving up) and wants target of them: above target it
// gives up the highest partitions; below target it tries the free ones, in
// an order rotated by seed so that replicas claiming at the same time mostly
// try different partitions first. claim lists every candidate in the order
// to try; the caller stops after need successful claims.
func plan(active, free []int32, target int, seed uint32) (release, claim []int32, need int) {
	active = slices.Sorted(slices.Values(active))
	if len(active) > target {
		release = slices.Clone(active[target:])
		slices.Reverse(release) // highest first
		return release, nil, 0
	}
	need = target - len(active)
	if need == 0 || len(free) == 0 {
		return nil, nil, need
	}
	free = slices.Sorted(slices.Values(free))
	k := int(seed % uint32(len(free)))
	claim = append(slices.Clone(free[k:]), free[:k]...)
	return nil, claim, need
}

// seedOf is the claim-order seed of a replica id.
func seedOf(replicaID string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(replicaID))
	return h.Sum32()
}
