package kafka

import (
	"context"
	"errors"
	"fmt"

	ck "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// TopicSpec describes a topic for EnsureTopic.
type TopicSpec struct {
	Name              string
	Partitions        int // default 3
	ReplicationFactor int // default 1
}

// EnsureTopic creates the topic when it does not exist yet (local runs and tests; in the
// cluster Strimzi's KafkaTopic owns it). An existing topic is left as it is.
func EnsureTopic(ctx context.Context, brokers string, spec TopicSpec) error {
	if spec.Partitions <= 0 {
		spec.Partitions = 3
	}
	if spec.ReplicationFactor <= 0 {
		spec.ReplicationFactor = 1
	}
	a, err := ck.NewAdminClient(&ck.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		return fmt.Errorf("kafka: admin client: %w", err)
	}
	defer a.Close()
	res, err := a.CreateTopics(ctx, []ck.TopicSpecification{{
		Topic: spec.Name, NumPartitions: spec.Partitions, ReplicationFactor: spec.ReplicationFactor,
	}})
	if err != nil {
		return fmt.Errorf("kafka: create topic %s: %w", spec.Name, err)
	}
	for _, r := range res {
		if r.Error.Code() != ck.ErrNoError && r.Error.Code() != ck.ErrTopicAlreadyExists {
			return fmt.Errorf("kafka: create topic %s: %w", r.Topic, r.Error)
		}
	}
	return nil
}

// DeleteTopic deletes a topic (tests clean up with it). A missing topic is not an error.
func DeleteTopic(ctx context.Context, brokers, topic string) error {
	a, err := ck.NewAdminClient(&ck.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		return fmt.Errorf("kafka: admin client: %w", err)
	}
	defer a.Close()
	res, err := a.DeleteTopics(ctx, []string{topic})
	if err != nil {
		return fmt.Errorf("kafka: delete topic %s: %w", topic, err)
	}
	var errs []error
	for _, r := range res {
		if r.Error.Code() != ck.ErrNoError && r.Error.Code() != ck.ErrUnknownTopicOrPart && r.Error.Code() != ck.ErrUnknownTopic {
			errs = append(errs, fmt.Errorf("kafka: delete topic %s: %w", r.Topic, r.Error))
		}
	}
	return errors.Join(errs...)
}

// DeleteGroup deletes a consumer group (tests clean up with it). A missing group is not an error.
func DeleteGroup(ctx context.Context, brokers, group string) error {
	a, err := ck.NewAdminClient(&ck.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		return fmt.Errorf("kafka: admin client: %w", err)
	}
	defer a.Close()
	res, err := a.DeleteConsumerGroups(ctx, []string{group})
	if err != nil {
		return fmt.Errorf("kafka: delete group %s: %w", group, err)
	}
	for _, r := range res.ConsumerGroupResults {
		if r.Error.Code() != ck.ErrNoError && r.Error.Code() != ck.ErrGroupIDNotFound {
			return fmt.Errorf("kafka: delete group %s: %w", group, r.Error)
		}
	}
	return nil
}
