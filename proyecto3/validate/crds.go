package validate

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Custom resources have no Go types in client-go. These local structs hold exactly the fields our
// manifests use, with the spellings of the upstream CRDs (Strimzi kafka.strimzi.io/v1,
// RabbitMQ Cluster Operator rabbitmq.com/v1beta1, Argo CD argoproj.io/v1alpha1). Decoding uses
// DisallowUnknownFields, so a misspelt or invented field fails the tests.

var customKinds = map[string]func() any{
	"kafka.strimzi.io/v1/Kafka":            func() any { return &Kafka{} },
	"kafka.strimzi.io/v1/KafkaNodePool":    func() any { return &KafkaNodePool{} },
	"kafka.strimzi.io/v1/KafkaTopic":       func() any { return &KafkaTopic{} },
	"rabbitmq.com/v1beta1/RabbitmqCluster": func() any { return &RabbitmqCluster{} },
	"argoproj.io/v1alpha1/Application":     func() any { return &Application{} },
	"argoproj.io/v1alpha1/AppProject":      func() any { return &AppProject{} },
}

// Meta is the part of metadata our custom resources set.
type Meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Finalizers  []string          `json:"finalizers,omitempty"`
}

// ---- Strimzi (kafka.strimzi.io/v1) ----

type Kafka struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   Meta      `json:"metadata"`
	Spec       KafkaSpec `json:"spec"`
}

type KafkaSpec struct {
	Kafka          KafkaClusterSpec `json:"kafka"`
	EntityOperator *EntityOperator  `json:"entityOperator,omitempty"`
}

type KafkaClusterSpec struct {
	Version         string          `json:"version,omitempty"`
	MetadataVersion string          `json:"metadataVersion,omitempty"`
	Listeners       []KafkaListener `json:"listeners"`
	Config          map[string]any  `json:"config,omitempty"`
}

type KafkaListener struct {
	Name               string                           `json:"name"`
	Port               int32                            `json:"port"`
	Type               string                           `json:"type"`
	TLS                bool                             `json:"tls"`
	NetworkPolicyPeers []networkingv1.NetworkPolicyPeer `json:"networkPolicyPeers,omitempty"`
}

type EntityOperator struct {
	TopicOperator *EntityOperatorPart `json:"topicOperator,omitempty"`
	UserOperator  *EntityOperatorPart `json:"userOperator,omitempty"`
}

type EntityOperatorPart struct {
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

type KafkaNodePool struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   Meta              `json:"metadata"`
	Spec       KafkaNodePoolSpec `json:"spec"`
}

type KafkaNodePoolSpec struct {
	Replicas   int32                        `json:"replicas"`
	Roles      []string                     `json:"roles"`
	Storage    KafkaStorage                 `json:"storage"`
	Resources  *corev1.ResourceRequirements `json:"resources,omitempty"`
	JVMOptions map[string]string            `json:"jvmOptions,omitempty"`
}

type KafkaStorage struct {
	Type    string               `json:"type"`
	Volumes []KafkaStorageVolume `json:"volumes,omitempty"`
	// For type persistent-claim without JBOD.
	Size        string `json:"size,omitempty"`
	DeleteClaim bool   `json:"deleteClaim,omitempty"`
}

type KafkaStorageVolume struct {
	ID            int    `json:"id"`
	Type          string `json:"type"`
	Size          string `json:"size,omitempty"`
	Class         string `json:"class,omitempty"`
	DeleteClaim   bool   `json:"deleteClaim,omitempty"`
	KraftMetadata string `json:"kraftMetadata,omitempty"`
}

type KafkaTopic struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   Meta           `json:"metadata"`
	Spec       KafkaTopicSpec `json:"spec"`
}

type KafkaTopicSpec struct {
	TopicName  string         `json:"topicName,omitempty"`
	Partitions int32          `json:"partitions"`
	Replicas   int32          `json:"replicas"`
	Config     map[string]any `json:"config,omitempty"`
}

// ---- RabbitMQ Cluster Operator (rabbitmq.com/v1beta1) ----

type RabbitmqCluster struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Metadata   Meta                `json:"metadata"`
	Spec       RabbitmqClusterSpec `json:"spec"`
}

type RabbitmqClusterSpec struct {
	Replicas    *int32                       `json:"replicas,omitempty"`
	Image       string                       `json:"image,omitempty"`
	Resources   *corev1.ResourceRequirements `json:"resources,omitempty"`
	Persistence *struct {
		StorageClassName *string            `json:"storageClassName,omitempty"`
		Storage          *resource.Quantity `json:"storage,omitempty"`
	} `json:"persistence,omitempty"`
	Service *struct {
		Type corev1.ServiceType `json:"type,omitempty"`
	} `json:"service,omitempty"`
	Rabbitmq *struct {
		AdditionalConfig  string   `json:"additionalConfig,omitempty"`
		AdditionalPlugins []string `json:"additionalPlugins,omitempty"`
	} `json:"rabbitmq,omitempty"`
}

// ---- Argo CD (argoproj.io/v1alpha1) ----

type Application struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   Meta            `json:"metadata"`
	Spec       ApplicationSpec `json:"spec"`
}

type ApplicationSpec struct {
	Project              string              `json:"project"`
	Source               *AppSource          `json:"source,omitempty"`
	Sources              []AppSource         `json:"sources,omitempty"`
	Destination          AppDestination      `json:"destination"`
	SyncPolicy           *SyncPolicy         `json:"syncPolicy,omitempty"`
	IgnoreDifferences    []IgnoreDifference  `json:"ignoreDifferences,omitempty"`
	RevisionHistoryLimit *int64              `json:"revisionHistoryLimit,omitempty"`
	Info                 []map[string]string `json:"info,omitempty"`
}

type AppSource struct {
	RepoURL        string        `json:"repoURL"`
	Path           string        `json:"path,omitempty"`
	TargetRevision string        `json:"targetRevision,omitempty"`
	Chart          string        `json:"chart,omitempty"`
	Ref            string        `json:"ref,omitempty"`
	Helm           *AppHelm      `json:"helm,omitempty"`
	Directory      *AppDirectory `json:"directory,omitempty"`
}

type AppHelm struct {
	ReleaseName  string         `json:"releaseName,omitempty"`
	ValueFiles   []string       `json:"valueFiles,omitempty"`
	Values       string         `json:"values,omitempty"`
	ValuesObject map[string]any `json:"valuesObject,omitempty"`
	SkipCrds     bool           `json:"skipCrds,omitempty"`
}

type AppDirectory struct {
	Recurse bool   `json:"recurse,omitempty"`
	Include string `json:"include,omitempty"`
	Exclude string `json:"exclude,omitempty"`
}

type AppDestination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

type SyncPolicy struct {
	Automated *struct {
		Prune      bool `json:"prune"`
		SelfHeal   bool `json:"selfHeal"`
		AllowEmpty bool `json:"allowEmpty,omitempty"`
	} `json:"automated,omitempty"`
	SyncOptions []string `json:"syncOptions,omitempty"`
	Retry       *struct {
		Limit   int64 `json:"limit,omitempty"`
		Backoff *struct {
			Duration    string `json:"duration,omitempty"`
			Factor      *int64 `json:"factor,omitempty"`
			MaxDuration string `json:"maxDuration,omitempty"`
		} `json:"backoff,omitempty"`
	} `json:"retry,omitempty"`
	ManagedNamespaceMetadata *struct {
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"managedNamespaceMetadata,omitempty"`
}

type IgnoreDifference struct {
	Group             string   `json:"group,omitempty"`
	Kind              string   `json:"kind"`
	Name              string   `json:"name,omitempty"`
	Namespace         string   `json:"namespace,omitempty"`
	JSONPointers      []string `json:"jsonPointers,omitempty"`
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`
}

type AppProject struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   Meta           `json:"metadata"`
	Spec       AppProjectSpec `json:"spec"`
}

type GroupKind struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
}

type AppProjectSpec struct {
	Description                string           `json:"description,omitempty"`
	SourceRepos                []string         `json:"sourceRepos"`
	Destinations               []AppDestination `json:"destinations"`
	ClusterResourceWhitelist   []GroupKind      `json:"clusterResourceWhitelist,omitempty"`
	NamespaceResourceWhitelist []GroupKind      `json:"namespaceResourceWhitelist,omitempty"`
	NamespaceResourceBlacklist []GroupKind      `json:"namespaceResourceBlacklist,omitempty"`
	OrphanedResources          *struct {
		Warn bool `json:"warn"`
	} `json:"orphanedResources,omitempty"`
}
