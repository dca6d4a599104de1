package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	ck "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/tweet"
)

var _ broker.Source = (*Source)(nil)

// Source reads tweets from a topic as a member of a consumer group and commits offsets only
// after the handler stored the batch.
//
// Commits. A stored batch's next offsets are staged, not committed at once: Run commits what
// is staged (synchronously) every CommitInterval, before this member gives up a partition, and
// when it stops. Each commit covers every batch stored since the last one, so Kafka serves a
// few commits a second instead of one per batch; what a crash loses is only the commit of up
// to CommitInterval of stored tweets, which are delivered again and not counted twice.
//
// Rebalances. Run does everything on one goroutine: poll to fill a batch, call the handler,
// stage its offsets (and commit when due), poll again. librdkafka delivers rebalance events
// only from inside Poll, so:
//   - a batch that was handed to the handler is stored and staged (or failed) before the next
//     Poll, and the rebalance callback commits the staged offsets of the partitions being
//     revoked before giving them up: "commit before revoke". A partition whose assignment was
//     lost (the group moved on without this member) is not committed; its staged offsets are
//     dropped with it, so that nothing of this member's is ever committed over its new owner's;
//   - a revocation that arrives while a batch is still being filled drops the messages of the
//     revoked partitions from that batch, uncommitted. Their new owner (or this member, when
//     the eager protocol hands the partitions back) resumes from the committed offset and
//     reads them again. Messages of partitions that stay assigned are kept (cooperative
//     protocol); with the default eager protocol every partition is revoked.
//   - a handler that keeps failing for longer than max.poll.interval.ms makes librdkafka leave
//     the group; the partitions move to another member, this member's late commit fails
//     (counted in tweets_broker_ack_errors_total) and the batches are delivered again.
//
// Duplicates are therefore possible after a rebalance, a crash or a failed commit (the
// consumers deduplicate ids in Valkey); losses are not: nothing is staged, so nothing is
// committed, before the handler's nil.
//
// Shutdown: when Run's ctx is cancelled, a handler call in progress keeps a live context for
// up to DrainTimeout, and its batch is staged if it succeeds; Run then commits what is staged
// and returns. A batch still being filled, or whose handler failed, is abandoned uncommitted.
type Source struct {
	cfg   Config
	log   *slog.Logger
	c     *ck.Consumer
	topic string

	runMu      sync.Mutex   // one Run at a time
	life       sync.RWMutex // Run and Check hold it for reading; Close for writing
	closed     bool
	subscribed bool
	cancelMu   sync.Mutex
	closing    bool // set by Close, under cancelMu
	cancelRun  context.CancelFunc
	wg         sync.WaitGroup

	// revoked is set by the rebalance callback (which runs inside Poll, on Run's goroutine).
	revoked map[int32]bool
	// staged holds, per partition, what was stored and not yet committed; lastCommit is when
	// Run last committed (or found nothing to commit). Only Run's goroutine touches them (the
	// rebalance callback runs inside Poll, on it).
	staged     map[int32]stagedOffset
	lastCommit time.Time
	// cooperative: the group's rebalance protocol is COOPERATIVE (partition.assignment.strategy
	// cooperative-sticky), not EAGER; known from the configuration, see onRebalance.
	cooperative bool
}

// NewSource creates the consumer. It joins the group on the first Run.
func NewSource(cfg Config, log *slog.Logger) (*Source, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(true); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("broker", broker.Kafka, "role", "source")
	m := cfg.common()
	for k, v := range map[string]any{
		"group.id":                 cfg.Group,
		"enable.auto.commit":       false,
		"enable.auto.offset.store": false,
		"auto.offset.reset":        "earliest",
		"enable.partition.eof":     false,
		// A member that dies without leaving the group (SIGKILL, OOM, a lost node) keeps its
		// partitions until the coordinator gives up on it: after session.timeout.ms, or, when
		// the broker restarted meanwhile, after the dead member's rebalance timeout
		// (max.poll.interval.ms), during which the whole group stops. librdkafka's defaults
		// (45 s, 5 min) left a restarted consumer storing nothing for that long; these bound it
		// at 10 s and 30 s. A batch's handler may take up to 30 s before this member is
		// considered stuck and leaves the group (its batch is then delivered again).
		"session.timeout.ms":    10000,
		"heartbeat.interval.ms": 3000,
		"max.poll.interval.ms":  30000,
	} {
		_ = m.SetKey(k, v)
	}
	if err := applyExtra(m, cfg.Extra); err != nil {
		return nil, err
	}
	if err := applyExtra(m, cfg.ConsumerExtra); err != nil {
		return nil, err
	}
	c, err := ck.NewConsumer(&m)
	if err != nil {
		return nil, fmt.Errorf("kafka: new consumer: %w", err)
	}
	strategy, _ := m.Get("partition.assignment.strategy", "")
	cooperative := strings.Contains(fmt.Sprint(strategy), "cooperative-sticky")
	s := &Source{cfg: cfg, log: log, c: c, topic: cfg.Topic, cooperative: cooperative}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); drainLogs(c.Logs(), log) }()
	log.Info("kafka consumer created", "brokers", cfg.Brokers, "topic", cfg.Topic, "group", cfg.Group,
		"batch_size", cfg.BatchSize, "batch_wait", cfg.BatchWait)
	return s, nil
}

// item is one polled message: its tweet (when it decoded) and where it came from.
type item struct {
	t         tweet.Tweet
	ok        bool
	partition int32
	offset    ck.Offset
}

// Run consumes until ctx is done (or Close), then returns nil; it returns an error only when
// it cannot go on (subscription refused, fatal client error, closed source).
func (s *Source) Run(ctx context.Context, h broker.Handler) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.cancelMu.Lock()
	if s.closing {
		s.cancelMu.Unlock()
		return ErrClosed
	}
	s.cancelRun = cancel
	s.cancelMu.Unlock()

	if !s.subscribed {
		if err := s.c.SubscribeTopics([]string{s.topic}, s.onRebalance); err != nil {
			return fmt.Errorf("kafka: subscribe %s: %w", s.topic, err)
		}
		s.subscribed = true
	}
	s.lastCommit = time.Now()
	for ctx.Err() == nil {
		batch, err := s.readBatch(ctx)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			continue
		}
		s.handle(ctx, h, batch)
	}
	s.commitStaged() // a graceful stop leaves nothing stored uncommitted
	return nil
}

// readBatch polls until it has a first message, then for at most BatchWait more or until
// BatchSize messages.
func (s *Source) readBatch(ctx context.Context) ([]item, error) {
	batch := make([]item, 0, s.cfg.BatchSize)
	var deadline time.Time
	for len(batch) < s.cfg.BatchSize {
		if ctx.Err() != nil {
			return nil, nil // abandon: nothing of it was committed
		}
		wait := 100 * time.Millisecond // bounded, so that ctx is checked
		if len(batch) > 0 {
			wait = time.Until(deadline)
			if wait <= 0 {
				break
			}
		}
		if len(s.staged) > 0 { // also when no more messages come: the last ones get committed
			due := time.Until(s.lastCommit.Add(s.cfg.CommitInterval))
			if due <= 0 {
				s.commitStaged()
				continue
			}
			wait = min(wait, due)
		}
		ev := s.c.Poll(timeoutMs(wait))
		if len(s.revoked) > 0 {
			batch = dropPartitions(batch, s.revoked)
			s.revoked = nil
		}
		switch e := ev.(type) {
		case nil:
		case *ck.Message:
			if e.TopicPartition.Error != nil {
				s.log.Warn("consume error", "err", e.TopicPartition.Error)
				continue
			}
			it := item{partition: e.TopicPartition.Partition, offset: e.TopicPartition.Offset}
			t, err := decode(e)
			if err != nil {
				m.DecodeErrors.Inc()
				s.log.Warn("undecodable message skipped", "partition", it.partition, "offset", int64(it.offset), "err", err)
			} else {
				it.t, it.ok = t, true
			}
			if len(batch) == 0 {
				deadline = time.Now().Add(s.cfg.BatchWait)
			}
			batch = append(batch, it)
		case ck.Error:
			logKafkaError(s.log, e, "source")
			if e.IsFatal() {
				return nil, fmt.Errorf("kafka: fatal consumer error: %w", e)
			}
		default:
			s.log.Debug("kafka event", "event", e.String())
		}
	}
	return batch, nil
}

func dropPartitions(batch []item, revoked map[int32]bool) []item {
	kept := batch[:0]
	for _, it := range batch {
		if !revoked[it.partition] {
			kept = append(kept, it)
		}
	}
	return kept
}

// onRebalance runs inside Poll. It records revoked partitions so that readBatch drops their
// messages, and performs the (un)assignment itself. Left to confluent-kafka-go, the
// (un)assignment first asks librdkafka for the rebalance protocol, and that query can block
// forever when the revocation comes from Close (confluent-kafka-go issue 1016, librdkafka
// issue 4041): seen here once, a test's Close hung for 10 minutes. The protocol follows from
// the configuration, so it is never asked for.
func (s *Source) onRebalance(c *ck.Consumer, ev ck.Event) error {
	protocol := "EAGER"
	if s.cooperative {
		protocol = "COOPERATIVE"
	}
	var err error
	switch e := ev.(type) {
	case ck.AssignedPartitions:
		rebalancesTotal.WithLabelValues("assign").Inc()
		s.log.Info("partitions assigned", "partitions", partitionList(e.Partitions), "protocol", protocol)
		if s.cooperative {
			err = c.IncrementalAssign(e.Partitions)
		} else {
			err = c.Assign(e.Partitions)
		}
	case ck.RevokedPartitions:
		kind := "revoke"
		if c.AssignmentLost() {
			kind = "lost"
		}
		rebalancesTotal.WithLabelValues(kind).Inc()
		if s.revoked == nil {
			s.revoked = make(map[int32]bool)
		}
		for _, tp := range e.Partitions {
			s.revoked[tp.Partition] = true
		}
		s.log.Info("partitions revoked", "partitions", partitionList(e.Partitions), "lost", kind == "lost")
		s.releaseStaged(e.Partitions, kind == "lost")
		if s.cooperative {
			err = c.IncrementalUnassign(e.Partitions)
		} else {
			err = c.Unassign()
		}
	}
	if err != nil {
		s.log.Warn("rebalance: (un)assign failed", "protocol", protocol, "err", err)
	}
	return err
}

func partitionList(tps []ck.TopicPartition) []int32 {
	out := make([]int32, len(tps))
	for i, tp := range tps {
		out[i] = tp.Partition
	}
	return out
}

// handle calls h until it succeeds (or ctx ends), then stages the batch's next offsets and
// commits what is staged when CommitInterval has passed since the last commit.
func (s *Source) handle(ctx context.Context, h broker.Handler, batch []item) {
	m.BatchSize.Observe(float64(len(batch)))
	tweets := make([]tweet.Tweet, 0, len(batch))
	for _, it := range batch {
		if it.ok {
			tweets = append(tweets, it.t)
		}
	}
	if len(tweets) > 0 && !broker.HandleUntilStored(ctx, h, tweets, s.retry(), m, s.log) {
		return
	}
	s.stage(batch)
	if time.Since(s.lastCommit) >= s.cfg.CommitInterval {
		s.commitStaged()
	}
}

// stagedOffset is one partition's stored, uncommitted part: the offset after its last stored
// message, and how many tweets were stored in it since the partition's last commit.
type stagedOffset struct {
	next   ck.Offset
	tweets int
}

// stage records, per partition, the offset after the stored batch's last message.
func (s *Source) stage(batch []item) {
	if s.staged == nil {
		s.staged = make(map[int32]stagedOffset)
	}
	for _, it := range batch {
		st := s.staged[it.partition]
		st.next = max(st.next, it.offset+1)
		if it.ok {
			st.tweets++
		}
		s.staged[it.partition] = st
	}
}

// commitStaged commits every staged offset (synchronously). A partition whose commit failed
// stays staged: the next commit tries it again (a higher offset covers the lower one), unless
// the partition is revoked meanwhile.
func (s *Source) commitStaged() {
	s.lastCommit = time.Now()
	if len(s.staged) == 0 {
		return
	}
	parts := make([]int32, 0, len(s.staged))
	for p := range s.staged {
		parts = append(parts, p)
	}
	s.commitPartitions(parts, "periodic")
}

// releaseStaged runs when partitions are revoked: it commits their staged offsets first
// (unless their assignment was lost, when a commit would fail or land over the new owner's),
// and forgets them either way.
func (s *Source) releaseStaged(tps []ck.TopicPartition, lost bool) {
	var parts []int32
	for _, tp := range tps {
		if _, ok := s.staged[tp.Partition]; ok {
			parts = append(parts, tp.Partition)
		}
	}
	if len(parts) == 0 {
		return
	}
	if !lost {
		s.commitPartitions(parts, "before revoke")
	}
	for _, p := range parts {
		if n := s.staged[p].tweets; n > 0 && lost {
			s.log.Warn("partition lost with stored tweets uncommitted; they will be delivered again", "partition", p, "tweets", n)
		}
		delete(s.staged, p)
	}
}

// commitPartitions commits the staged offsets of parts; those committed are unstaged and their
// tweets counted as consumed.
func (s *Source) commitPartitions(parts []int32, when string) {
	offsets := make([]ck.TopicPartition, 0, len(parts))
	for _, p := range parts {
		offsets = append(offsets, ck.TopicPartition{Topic: &s.topic, Partition: p, Offset: s.staged[p].next})
	}
	res, err := s.c.CommitOffsets(offsets)
	failed := map[int32]error{}
	if err != nil {
		for _, p := range parts {
			failed[p] = err
		}
	}
	for _, tp := range res {
		if tp.Error != nil {
			failed[tp.Partition] = tp.Error
		}
	}
	for _, p := range parts {
		if err, ok := failed[p]; ok {
			m.AckErrors.Inc()
			s.log.Warn("offset commit failed; the stored tweets will be delivered again if it does not succeed later",
				"when", when, "partition", p, "tweets", s.staged[p].tweets, "err", err)
			continue
		}
		m.Consumed.Add(float64(s.staged[p].tweets))
		delete(s.staged, p)
	}
}

// decode rebuilds a tweet from a record: identity from the headers (the key as a fallback
// for the id), fields from the protobuf value.
func decode(m *ck.Message) (tweet.Tweet, error) {
	var id, recv string
	for _, h := range m.Headers {
		switch h.Key {
		case tweet.BrokerHeaderID:
			id = string(h.Value)
		case tweet.BrokerHeaderRecv:
			recv = string(h.Value)
		}
	}
	if id == "" {
		id = string(m.Key)
	}
	ms, ferr := tweet.ParseMs(recv)
	if ferr != nil {
		return tweet.Tweet{}, fmt.Errorf("header %s: %w", tweet.BrokerHeaderRecv, ferr)
	}
	return tweet.Unmarshal(m.Value, id, ms)
}

// Check fetches the cluster metadata within ctx.
func (s *Source) Check(ctx context.Context) error {
	if !s.life.TryRLock() {
		return ErrClosed // Close is in progress
	}
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return checkMetadata(ctx, s.c)
}

// Close stops a running Run (its batch in progress is abandoned uncommitted), leaves the
// group and closes the consumer (waiting at most CloseTimeout for librdkafka). Cancel Run's ctx
// and let it return first for a graceful stop.
func (s *Source) Close() error {
	s.cancelMu.Lock()
	s.closing = true
	if s.cancelRun != nil {
		s.cancelRun()
	}
	s.cancelMu.Unlock()
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return nil
	}
	s.closed = true
	// librdkafka's close (leave the group, revoke, destroy) normally takes well under a second;
	// bounded anyway, so that a close that never returns cannot keep a stopping consumer alive.
	// Abandoning it loses nothing: Run committed what it had stored when it stopped (a Run
	// still going is abandoned: its stored tweets are delivered again, and counted once).
	done := make(chan error, 1)
	go func() { done <- s.c.Close() }()
	select {
	case err := <-done:
		s.life.Unlock()
		s.wg.Wait()
		if err != nil {
			return fmt.Errorf("kafka: close consumer: %w", err)
		}
		return nil
	case <-time.After(s.cfg.CloseTimeout):
		s.life.Unlock()
		return fmt.Errorf("kafka: consumer close did not finish within %s; abandoned", s.cfg.CloseTimeout)
	}
}

func (s *Source) retry() broker.Retry {
	return broker.Retry{Backoff: s.cfg.RetryBackoff, MaxBackoff: s.cfg.MaxRetryBackoff, Drain: s.cfg.DrainTimeout}
}
