package validate

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Pod is a pod as NetworkPolicies see it: a namespace and labels.
type Pod struct {
	Name      string
	Namespace string
	Labels    map[string]string
}

// Flow is one TCP/UDP connection attempt.
type Flow struct {
	From, To Pod
	Port     int32
	Protocol string // TCP or UDP
}

func (f Flow) String() string {
	return fmt.Sprintf("%s -> %s:%d/%s", f.From.Name, f.To.Name, f.Port, f.Protocol)
}

// Allowed evaluates the NetworkPolicies of the rendered manifests (the semantics of the
// NetworkPolicy API: a pod selected by a policy of a direction is isolated in that direction and
// only what some selecting policy allows passes; both the sender's egress and the receiver's
// ingress must allow the flow). Named ports are not used by our policies and count as no match.
func Allowed(nps []*networkingv1.NetworkPolicy, f Flow) bool {
	return allowedDir(nps, f, networkingv1.PolicyTypeEgress) && allowedDir(nps, f, networkingv1.PolicyTypeIngress)
}

func allowedDir(nps []*networkingv1.NetworkPolicy, f Flow, dir networkingv1.PolicyType) bool {
	self, peer := f.From, f.To
	if dir == networkingv1.PolicyTypeIngress {
		self, peer = f.To, f.From
	}
	isolated := false
	for _, np := range nps {
		if np.Namespace != self.Namespace || !selects(&np.Spec.PodSelector, self.Labels) || !hasType(np, dir) {
			continue
		}
		isolated = true
		if dir == networkingv1.PolicyTypeEgress {
			for _, r := range np.Spec.Egress {
				if peersMatch(r.To, np.Namespace, peer) && portsMatch(r.Ports, f) {
					return true
				}
			}
		} else {
			for _, r := range np.Spec.Ingress {
				if peersMatch(r.From, np.Namespace, peer) && portsMatch(r.Ports, f) {
					return true
				}
			}
		}
	}
	return !isolated
}

func hasType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) == 0 { // defaulting: Ingress always, Egress if rules exist
		return t == networkingv1.PolicyTypeIngress || len(np.Spec.Egress) > 0
	}
	for _, x := range np.Spec.PolicyTypes {
		if x == t {
			return true
		}
	}
	return false
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNS string, p Pod) bool {
	if len(peers) == 0 {
		return true
	}
	for _, pe := range peers {
		if pe.IPBlock != nil {
			continue
		}
		nsOK := p.Namespace == policyNS
		if pe.NamespaceSelector != nil {
			nsOK = selects(pe.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": p.Namespace})
		}
		podOK := pe.PodSelector == nil || selects(pe.PodSelector, p.Labels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, f Flow) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if proto != f.Protocol {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.IntValue() == int(f.Port) || (p.EndPort != nil && f.Port >= int32(p.Port.IntValue()) && f.Port <= *p.EndPort) {
			return true
		}
	}
	return false
}

// The pods of the system, as the policies see them.
var (
	podIngress  = Pod{"ingress-nginx", "ingress-nginx", map[string]string{"app.kubernetes.io/name": "ingress-nginx"}}
	podGrafana  = Pod{"grafana", "monitoring", map[string]string{"app.kubernetes.io/name": "grafana"}}
	podDNS      = Pod{"kube-dns", "kube-system", map[string]string{"k8s-app": "kube-dns"}}
	podKafka    = Pod{"kafka", AppNamespace, map[string]string{"strimzi.io/cluster": "tweets-kafka", "strimzi.io/kind": "Kafka", "strimzi.io/name": "tweets-kafka-kafka"}}
	podRabbit   = Pod{"rabbitmq", AppNamespace, map[string]string{"app.kubernetes.io/name": "tweets-rabbitmq", "app.kubernetes.io/component": "rabbitmq"}}
	podRabbitOp = Pod{"rabbitmq-operator", "rabbitmq-system", map[string]string{"app.kubernetes.io/name": "rabbitmq-cluster-operator"}}
	podOutside  = Pod{"some-other-namespace-pod", "default", map[string]string{"app": "x"}}
)

// CheckDataPath: the data path is open, and a sample of everything else is closed.
func CheckDataPath(objs []Object) []string {
	nps := all[*networkingv1.NetworkPolicy](objs)
	pods := map[string]Pod{}
	for _, w := range workloads(objs) {
		pods[w.name] = Pod{w.name, AppNamespace, w.labels}
	}
	for _, name := range []string{"api", "gateway", "writer-kafka", "writer-rabbitmq", "consumer-kafka", "consumer-rabbitmq", "valkey"} {
		if _, ok := pods[name]; !ok {
			return []string{"data path: workload " + name + " missing"}
		}
	}
	p := func(n string) Pod { return pods[n] }
	tcp := func(from, to Pod, port int32) Flow { return Flow{from, to, port, "TCP"} }
	valkey1 := Pod{"valkey-1", AppNamespace, p("valkey").Labels}

	open := []Flow{
		tcp(podIngress, p("api"), 8080),
		tcp(p("api"), p("gateway"), 8080),
		tcp(p("api"), p("gateway"), 50051),
		tcp(p("gateway"), p("writer-kafka"), 50051),
		tcp(p("gateway"), p("writer-rabbitmq"), 50051),
		tcp(p("writer-kafka"), podKafka, 9092),
		tcp(p("writer-rabbitmq"), podRabbit, 5672),
		tcp(p("consumer-kafka"), podKafka, 9092),
		tcp(p("consumer-rabbitmq"), podRabbit, 5672),
		tcp(p("consumer-kafka"), p("valkey"), 6379),
		tcp(p("consumer-rabbitmq"), p("valkey"), 6379),
		tcp(valkey1, p("valkey"), 6379),
		tcp(podGrafana, p("valkey"), 6379),
		tcp(podRabbitOp, podRabbit, 15672),
		tcp(podRabbit, podRabbit, 25672),
	}
	for _, n := range []string{"api", "gateway", "writer-kafka", "writer-rabbitmq", "consumer-kafka", "consumer-rabbitmq", "valkey"} {
		open = append(open, Flow{p(n), podDNS, 53, "UDP"}, Flow{p(n), podDNS, 53, "TCP"})
	}
	closed := []Flow{
		tcp(podOutside, p("api"), 8080),
		tcp(podIngress, p("gateway"), 8080),
		tcp(podIngress, p("valkey"), 6379),
		tcp(p("api"), p("valkey"), 6379),
		tcp(p("api"), p("writer-kafka"), 50051),
		tcp(p("gateway"), podKafka, 9092),
		tcp(p("gateway"), p("valkey"), 6379),
		tcp(p("writer-kafka"), podRabbit, 5672),
		tcp(p("writer-rabbitmq"), podKafka, 9092),
		tcp(p("writer-kafka"), p("valkey"), 6379),
		tcp(p("consumer-kafka"), p("writer-kafka"), 50051),
		tcp(p("consumer-kafka"), podRabbit, 5672),
		tcp(podOutside, p("valkey"), 6379),
		tcp(podOutside, podRabbit, 5672),
		tcp(p("valkey"), podKafka, 9092),
		tcp(p("gateway"), podOutside, 443),
	}
	var v []string
	for _, f := range open {
		if !Allowed(nps, f) {
			v = append(v, "NetworkPolicy blocks the data path: "+f.String())
		}
	}
	for _, f := range closed {
		if Allowed(nps, f) {
			v = append(v, "NetworkPolicy allows a flow off the data path: "+f.String())
		}
	}
	// Kafka pods are guarded by the policy Strimzi generates from the listener's peers.
	if k := find[*Kafka](objs, "tweets-kafka"); k != nil {
		for _, l := range k.Spec.Kafka.Listeners {
			if l.Port != 9092 {
				continue
			}
			fake := []*networkingv1.NetworkPolicy{{
				ObjectMeta: metav1.ObjectMeta{Namespace: AppNamespace},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"strimzi.io/cluster": "tweets-kafka", "strimzi.io/kind": "Kafka"}},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: l.NetworkPolicyPeers}},
				},
			}}
			if len(l.NetworkPolicyPeers) == 0 {
				v = append(v, "Kafka listener 9092: no networkPolicyPeers, every pod may connect")
			}
			for _, n := range []string{"writer-kafka", "consumer-kafka"} {
				if !Allowed(fake, tcp(p(n), podKafka, 9092)) {
					v = append(v, "Kafka listener 9092: "+n+" is not among networkPolicyPeers")
				}
			}
			for _, n := range []string{"gateway", "writer-rabbitmq", "api"} {
				if Allowed(fake, tcp(p(n), podKafka, 9092)) {
					v = append(v, "Kafka listener 9092: "+n+" may connect")
				}
			}
		}
	}
	return v
}
