package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// PluginID is the Grafana plugin id of the Redis data source, which talks to Valkey unchanged.
const PluginID = "redis-datasource"

// DatasourceUID is the fixed uid under which proyecto3/grafana/values.yaml provisions the
// Valkey data source; every target of the dashboard names it.
const DatasourceUID = "valkey"

// Datasource is the reference every panel and target carries.
func Datasource() common.DataSourceRef {
	t, uid := PluginID, DatasourceUID
	return common.DataSourceRef{Type: &t, Uid: &uid}
}

// Query is the query model of the redis-datasource plugin, limited to what this dashboard
// uses. Field names and JSON names follow the plugin's own model:
//   - frontend: src/redis/types.ts (RedisQuery: type, command, keyName, field, start, end, count)
//   - backend:  pkg/types.go (queryModel: `json:"keyName"`, `json:"field"`, `json:"start"`,
//     `json:"end"`, `json:"count"`, `json:"command"`, `json:"query"`)
//
// `type` is "command" (QueryTypeValue.REDIS in src/redis/query.ts). `query` must stay empty:
// pkg/query.go runs a non-empty `query` as a raw CLI command instead of `command`.
type Query struct {
	RefId      string                `json:"refId"`
	Hide       *bool                 `json:"hide,omitempty"`
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	Type       string                `json:"type"`
	Command    string                `json:"command"`
	KeyName    string                `json:"keyName"`
	Field      string                `json:"field,omitempty"`
	Start      string                `json:"start,omitempty"`
	End        string                `json:"end,omitempty"`
	Count      int                   `json:"count,omitempty"`
}

// Commands of the plugin that this dashboard may use (pkg/models/redis.go names; dispatch in
// pkg/query.go). Module commands (ts.*, ft.*, json.*, graph.*) are never used: Valkey has none.
const (
	CmdGet       = "get"
	CmdHGet      = "hget"
	CmdHGetAll   = "hgetall"
	CmdHMGet     = "hmget"
	CmdXRange    = "xrange"
	CmdXRevRange = "xrevrange"
	CmdZRange    = "zrange"
)

// SupportedCommands is the set above.
var SupportedCommands = map[string]bool{
	CmdGet: true, CmdHGet: true, CmdHGetAll: true, CmdHMGet: true,
	CmdXRange: true, CmdXRevRange: true, CmdZRange: true,
}

func (q Query) ImplementsDataqueryVariant() {}
func (q Query) DataqueryType() string       { return PluginID }

// Validate rejects queries the plugin would not run as intended.
func (q Query) Validate() error {
	if q.Type != "command" {
		return fmt.Errorf("query %s: type %q, want \"command\"", q.RefId, q.Type)
	}
	if !SupportedCommands[q.Command] {
		return fmt.Errorf("query %s: command %q is not one this dashboard may use", q.RefId, q.Command)
	}
	if q.KeyName == "" {
		return fmt.Errorf("query %s: keyName is empty", q.RefId)
	}
	if (q.Command == CmdHGet || q.Command == CmdHMGet) && q.Field == "" {
		return fmt.Errorf("query %s: %s needs a field", q.RefId, q.Command)
	}
	return nil
}

func (q Query) Equals(other variants.Dataquery) bool {
	o, ok := other.(Query)
	return ok && reflect.DeepEqual(q, o)
}

// QueryVariantConfig lets cog unmarshal dashboards holding this query type.
func QueryVariantConfig() variants.DataqueryConfig {
	return variants.DataqueryConfig{
		Identifier: PluginID,
		DataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q Query
			if err := json.Unmarshal(raw, &q); err != nil {
				return nil, err
			}
			return q, nil
		},
		StrictDataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q Query
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&q); err != nil {
				return nil, err
			}
			return q, q.Validate()
		},
	}
}

var _ cog.Builder[variants.Dataquery] = (*QueryBuilder)(nil)

// QueryBuilder builds a Query for the SDK's panel builders.
type QueryBuilder struct{ q Query }

func newQuery(refID, command, key string) *QueryBuilder {
	ds := Datasource()
	return &QueryBuilder{q: Query{RefId: refID, Datasource: &ds, Type: "command", Command: command, KeyName: key}}
}

// HGetAll is `HGETALL key`.
func HGetAll(refID, key string) *QueryBuilder { return newQuery(refID, CmdHGetAll, key) }

// HGet is `HGET key field`.
func HGet(refID, key, field string) *QueryBuilder {
	b := newQuery(refID, CmdHGet, key)
	b.q.Field = field
	return b
}

// XRange is `XRANGE key <from>-0 <to>-0 COUNT count` (start and end left to the dashboard's time
// range, see Command).
func XRange(refID, key string, count int) *QueryBuilder {
	b := newQuery(refID, CmdXRange, key)
	b.q.Count = count
	return b
}

func (b *QueryBuilder) Build() (variants.Dataquery, error) {
	if err := b.q.Validate(); err != nil {
		return nil, err
	}
	return b.q, nil
}
