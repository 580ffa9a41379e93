package faults

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The faults a round can inject.
const (
	// KillService: kill -9 of one service replica, restarted after a
	// random delay.
	KillService Kind = "kill-service"
	// KillNATS: kill -9 of one NATS node, restarted after a random delay.
	KillNATS Kind = "kill-nats"
	// PauseService: SIGSTOP of one service replica for longer than the
	// lease TTL, then SIGCONT: it wakes up as a stale owner.
	PauseService Kind = "pause-service"
	// StopSearch: the search engine stopped for SearchOutage, then
	// started again on its data.
	StopSearch Kind = "stop-elasticsearch"
	// RejectBulks: every bulk answered 429 for a while (the harness's
	// proxy in front of the search engine).
	RejectBulks Kind = "elasticsearch-429"
)

// Kinds lists every fault, in the order a cycle of rounds shuffles.
var Kinds = []Kind{KillService, KillNATS, PauseService, StopSearch, RejectBulks}

// SearchOutage is how long StopSearch keeps the search engine down.
const SearchOutage = 30 * time.Second

// Plan is one round's fault, drawn from the seed before the run starts.
type Plan struct {
	Round  int           `json:"round"`
	Kind   Kind          `json:"fault"`
	Target string        `json:"target,omitempty"` // the process (service replica or NATS node)
	Strike time.Duration `json:"-"`                // after the round starts
	// Hold is how long the fault lasts: the delay before a killed process
	// restarts, a pause, the 429 period (StopSearch: SearchOutage).
	Hold time.Duration `json:"-"`
}

func (p Plan) String() string {
	s := string(p.Kind)
	if p.Target != "" {
		s += " " + p.Target
	}
	return fmt.Sprintf("%s for %s", s, p.Hold.Round(100*time.Millisecond))
}

// Topology names the processes a plan may target.
type Topology struct {
	Services []string // every service replica: ingest-1, aggregator-2, ...
	NATS     []string // nats-1, nats-2, nats-3
	LeaseTTL time.Duration
}

// MakePlans draws rounds plans from seed: the kinds in shuffled cycles
// (every kind once per len(Kinds) rounds), a target, the moment it strikes
// (2–8 s into the round) and how long it holds. The same seed and
// topology give the same plans.
func MakePlans(seed uint64, rounds int, topo Topology) []Plan {
	rng := rand.New(rand.NewPCG(seed, 0x666c6f776c696e65)) // "flowline"
	between := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	var cycle []Kind
	plans := make([]Plan, 0, rounds)
	for i := range rounds {
		if len(cycle) == 0 {
			cycle = append(cycle, Kinds...)
			rng.Shuffle(len(cycle), func(a, b int) { cycle[a], cycle[b] = cycle[b], cycle[a] })
		}
		p := Plan{Round: i + 1, Kind: cycle[0], Strike: between(2*time.Second, 8*time.Second)}
		cycle = cycle[1:]
		switch p.Kind {
		case KillService:
			p.Target = topo.Services[rng.IntN(len(topo.Services))]
			p.Hold = between(500*time.Millisecond, 8*time.Second)
		case KillNATS:
			p.Target = topo.NATS[rng.IntN(len(topo.NATS))]
			p.Hold = between(500*time.Millisecond, 8*time.Second)
		case PauseService:
			p.Target = topo.Services[rng.IntN(len(topo.Services))]
			p.Hold = topo.LeaseTTL + between(time.Second, 5*time.Second)
		case StopSearch:
			p.Hold = SearchOutage
		case RejectBulks:
			p.Hold = between(5*time.Second, 20*time.Second)
		}
		plans = append(plans, p)
	}
	return plans
}

// expectedRound is about how long a round of p takes: the strike, the
// fault, and the recovery that usually follows (a restarted node's start,
// a lease taken over, the backlog written).
func expectedRound(p Plan, ttl time.Duration) time.Duration {
	recovery := map[Kind]time.Duration{
		KillService:  ttl + 5*time.Second,
		KillNATS:     20 * time.Second, // deliveries lost with the node wait out the writer's ack wait (15 s)
		PauseService: 5 * time.Second,
		StopSearch:   40 * time.Second, // the node's start and the backlog
		RejectBulks:  5 * time.Second,
	}[p.Kind]
	return p.Strike + p.Hold + recovery
}
