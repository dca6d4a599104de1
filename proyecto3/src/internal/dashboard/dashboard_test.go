package dashboard

//lint:file-ignore SA1019 the classic (v1) dashboard model is what Grafana's file provisioning and the chart's sidecar load; the SDK's v2 model needs Grafana 12 with feature toggles.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	sdkdashboard "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"go.yaml.in/yaml/v3"
)

const (
	committedJSON = "../../../grafana/dashboards/tweets.json"
	contractsMD   = "../../../docs/contracts.md"
)

func model(t *testing.T) Model {
	t.Helper()
	raw, err := Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	m, err := Parse(raw)
	if err != nil {
		t.Fatalf("parse generated JSON: %v", err)
	}
	return m
}

// The committed JSON (provisioned through the ConfigMap) is exactly what Build produces.
func TestCommittedJSONIsUpToDate(t *testing.T) {
	want, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committedJSON)
	if err != nil {
		t.Fatalf("read %s: %v", committedJSON, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run `go run ./cmd/dashgen` in proyecto3/src and commit it", filepath.Clean(committedJSON))
	}
	again, _ := Build()
	if !bytes.Equal(want, again) {
		t.Fatal("Build is not deterministic")
	}
}

func TestMunicipalityForCarnet(t *testing.T) {
	for digit, want := range []string{"mixco", "mixco", "mixco", "guatemala", "guatemala", "guatemala", "amatitlan", "amatitlan", "chinautla", "chinautla"} {
		carnet := "20190001" + string(rune('0'+digit))
		if got, err := MunicipalityForCarnet(carnet); err != nil || got != want {
			t.Errorf("MunicipalityForCarnet(%s) = %q, %v; want %q", carnet, got, err, want)
		}
	}
	for _, bad := range []string{"", "20190000x"} {
		if _, err := MunicipalityForCarnet(bad); err == nil {
			t.Errorf("MunicipalityForCarnet(%q) accepted", bad)
		}
	}
}

// contractKey is one row of the "Valkey key schema" table of docs/contracts.md.
type contractKey struct {
	pattern *regexp.Regexp
	typ     string
	fields  map[string]bool
}

var backticked = regexp.MustCompile("`([^`]+)`")

func contractKeys(t *testing.T) []contractKey {
	t.Helper()
	raw, err := os.ReadFile(contractsMD)
	if err != nil {
		t.Fatalf("read %s: %v", contractsMD, err)
	}
	_, section, ok := strings.Cut(string(raw), "## Valkey key schema")
	if !ok {
		t.Fatalf("%s has no \"Valkey key schema\" section", contractsMD)
	}
	var out []contractKey
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		cols := strings.Split(line, "|")
		if len(cols) < 5 || !strings.HasPrefix(strings.TrimSpace(cols[1]), "`") {
			continue
		}
		key := backticked.FindStringSubmatch(cols[1])[1]
		re := regexp.QuoteMeta(key)
		re = strings.ReplaceAll(re, "<m>", "("+strings.Join(Municipalities, "|")+")")
		re = strings.ReplaceAll(re, "<b>", "("+strings.Join(Brokers, "|")+")")
		re = strings.ReplaceAll(re, "<id>", "[^:]+")
		ck := contractKey{pattern: regexp.MustCompile("^" + re + "$"), typ: strings.TrimSpace(cols[2]), fields: map[string]bool{}}
		for _, f := range backticked.FindAllStringSubmatch(cols[3], -1) {
			ck.fields[f[1]] = true
		}
		out = append(out, ck)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d keys in %s's key schema table", len(out), contractsMD)
	}
	return out
}

// varValues are the values each dashboard variable can take: every municipality of the
// custom variable, the default carnet.
func varValues(t *testing.T, m Model) []map[string]string {
	t.Helper()
	v, ok := m.Variable("municipality")
	if !ok {
		t.Fatal("no municipality variable")
	}
	var out []map[string]string
	for _, mun := range strings.Split(v.Query, ",") {
		out = append(out, map[string]string{"municipality": mun, "carnet": DefaultCarnet})
	}
	return out
}

// Every query is one command of the plugin that Valkey can run, on a key (and field) of the
// contract, of the type the command needs, and empty replies can only give "No data".
func TestQueriesUseSupportedCommandsAndContractKeys(t *testing.T) {
	m := model(t)
	keys := contractKeys(t)
	wantType := map[string]string{CmdHGet: "hash", CmdHGetAll: "hash", CmdHMGet: "hash", CmdXRange: "stream", CmdXRevRange: "stream", CmdGet: "string"}
	for _, p := range m.Panels {
		switch p.Type {
		case "row":
			continue
		case "text":
			if len(p.Targets) != 0 || (p.Title != "Carnet" && p.Title != "Municipio") {
				t.Errorf("text panel %q: only the carnet and municipality settings are text panels", p.Title)
			}
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q (%s) has no query", p.Title, p.Type)
		}
		if p.Datasource == nil || p.Datasource.Type != PluginID || p.Datasource.UID != DatasourceUID {
			t.Errorf("panel %q: datasource %+v, want %s/%s", p.Title, p.Datasource, PluginID, DatasourceUID)
		}
		for _, q := range p.Targets {
			if err := q.Validate(); err != nil {
				t.Errorf("panel %q: %v", p.Title, err)
			}
			if q.Datasource == nil || *q.Datasource.Uid != DatasourceUID || *q.Datasource.Type != PluginID {
				t.Errorf("panel %q query %s: datasource %+v", p.Title, q.RefId, q.Datasource)
			}
			if (q.Command == CmdXRange || q.Command == CmdXRevRange) && (q.Count <= 0 || q.Count > SeriesCount) {
				t.Errorf("panel %q: %s without a COUNT bound (%d)", p.Title, q.Command, q.Count)
			}
			valueSets := varValues(t, m)
			if !strings.Contains(q.KeyName+q.Field, "$") {
				valueSets = valueSets[:1]
			}
			for _, vars := range valueSets {
				rq, err := Resolve(q, vars)
				if err != nil {
					t.Fatalf("panel %q: %v", p.Title, err)
				}
				if _, err := Command(rq, TimeRange{From: time.Now().Add(-time.Hour), To: time.Now()}); err != nil {
					t.Errorf("panel %q: %v", p.Title, err)
				}
				var match *contractKey
				for i := range keys {
					if keys[i].pattern.MatchString(rq.KeyName) {
						match = &keys[i]
					}
				}
				if match == nil {
					t.Errorf("panel %q: key %q is not in %s", p.Title, rq.KeyName, contractsMD)
					continue
				}
				if match.typ != wantType[q.Command] {
					t.Errorf("panel %q: %s on %q, a %s in the contract", p.Title, q.Command, rq.KeyName, match.typ)
				}
				for _, f := range strings.Fields(rq.Field) {
					if !match.fields[f] {
						t.Errorf("panel %q: field %q of %q is not in %s", p.Title, f, rq.KeyName, contractsMD)
					}
				}
			}
		}
		checkNoDataGuard(t, p)
	}
}

// checkNoDataGuard: with an empty database the plugin returns a frame without fields (HGETALL,
// XRANGE: no rows) or a string field holding "" (HGET). The panel must not display that "".
func checkNoDataGuard(t *testing.T, p Panel) {
	t.Helper()
	var opts struct {
		ReduceOptions *struct {
			Fields *string `json:"fields"`
		} `json:"reduceOptions"`
		XField string `json:"xField"`
	}
	_ = jsonUnmarshal(p.Options, &opts)
	var fc struct {
		Defaults struct {
			NoValue string `json:"noValue"`
		} `json:"defaults"`
	}
	_ = jsonUnmarshal(p.FieldConfig, &fc)
	if fc.Defaults.NoValue != NoData {
		t.Errorf("panel %q: noValue %q, want %q", p.Title, fc.Defaults.NoValue, NoData)
	}
	has := func(id string) *Transform {
		for i := range p.Transformations {
			if p.Transformations[i].ID == id {
				return &p.Transformations[i]
			}
		}
		return nil
	}
	for _, q := range p.Targets {
		switch q.Command {
		case CmdHGet, CmdHMGet, CmdGet:
			if p.Type != "stat" {
				t.Errorf("panel %q: %s feeds a %s", p.Title, q.Command, p.Type)
				continue
			}
			numericOnly := opts.ReduceOptions != nil && opts.ReduceOptions.Fields != nil && *opts.ReduceOptions.Fields == ""
			filter := has("filterByValue")
			dropsEmpty := filter != nil && strings.Contains(mustJSON(filter.Options), `"fieldName":"`+q.Field+`"`) && strings.Contains(mustJSON(filter.Options), `".+"`)
			if !numericOnly && !dropsEmpty {
				t.Errorf("panel %q: an absent %s %s would show \"\" instead of No data", p.Title, q.KeyName, q.Field)
			}
		case CmdHGetAll:
			r := has("reduce")
			if p.Type != "barchart" || r == nil || r.Options["mode"] != "seriesToRows" || opts.XField != "Field" {
				t.Errorf("panel %q: HGETALL's one-row frame needs reduce (series to rows) and xField Field for a bar chart", p.Title)
			}
		case CmdXRange:
			if p.Type != "timeseries" {
				t.Errorf("panel %q: XRANGE feeds a %s", p.Title, p.Type)
			}
		}
	}
}

// The statement's figure (section 4.3.2) and our broker panels are all there.
func TestRequiredPanels(t *testing.T) {
	m := model(t)
	type want struct{ typ, cmd, key, field string }
	required := map[string]want{
		"avg humidity per municipality":    {"barchart", CmdHGetAll, "municipality:avg_humidity", ""},
		"avg temperature per municipality": {"barchart", CmdHGetAll, "municipality:avg_temperature", ""},
		"reports per weather":              {"barchart", CmdHGetAll, "weather:counts", ""},
		"highest temperature":              {"stat", CmdHGet, "global:stats", "temperature_max"},
		"lowest temperature":               {"stat", CmdHGet, "global:stats", "temperature_min"},
		"highest humidity":                 {"stat", CmdHGet, "global:stats", "humidity_max"},
		"lowest humidity":                  {"stat", CmdHGet, "global:stats", "humidity_min"},
		"most common weather":              {"stat", CmdHGet, "municipality:$municipality", "weather_most"},
		"least common weather":             {"stat", CmdHGet, "municipality:$municipality", "weather_least"},
		"temperature and humidity series":  {"timeseries", CmdXRange, "municipality:$municipality:series", ""},
		"processed kafka":                  {"stat", CmdHGet, "broker:kafka", "processed"},
		"processed rabbitmq":               {"stat", CmdHGet, "broker:rabbitmq", "processed"},
		"first kafka":                      {"stat", CmdHGet, "broker:kafka", "first"},
		"first rabbitmq":                   {"stat", CmdHGet, "broker:rabbitmq", "first"},
		"latency kafka":                    {"stat", CmdHGet, "broker:kafka", "latency_avg_ms"},
		"latency rabbitmq":                 {"stat", CmdHGet, "broker:rabbitmq", "latency_avg_ms"},
		"latency histogram kafka":          {"barchart", CmdHGetAll, "broker:kafka:latency", ""},
		"latency histogram rabbitmq":       {"barchart", CmdHGetAll, "broker:rabbitmq:latency", ""},
		"tweets per second":                {"timeseries", CmdXRange, "throughput", ""},
	}
	for name, w := range required {
		found := false
		for _, p := range m.Panels {
			for _, q := range p.Targets {
				if p.Type == w.typ && q.Command == w.cmd && q.KeyName == w.key && q.Field == w.field {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("missing panel %s: %s %s %s %s", name, w.typ, w.cmd, w.key, w.field)
		}
	}
	// The carnet and municipality are settings of the dashboard, shown in panels.
	carnet, ok := m.Variable("carnet")
	if !ok || carnet.Type != "textbox" || carnet.Query != DefaultCarnet || carnet.Current.Value != DefaultCarnet {
		t.Errorf("carnet variable: %+v", carnet)
	}
	mun, ok := m.Variable("municipality")
	if !ok || mun.Type != "custom" || mun.Query != strings.Join(Municipalities, ",") {
		t.Errorf("municipality variable: %+v", mun)
	}
	if def, _ := MunicipalityForCarnet(DefaultCarnet); mun.Current.Value != def {
		t.Errorf("municipality default %v, want %s (rule applied to carnet %s)", mun.Current.Value, def, DefaultCarnet)
	}
	var texts string
	for _, p := range m.Panels {
		if p.Type == "text" {
			texts += string(p.Options)
		}
	}
	if !strings.Contains(texts, "${carnet}") || !strings.Contains(texts, "${municipality}") {
		t.Error("no panel shows the carnet and the municipality")
	}
}

// The translation of a query into the command the plugin sends.
func TestCommandTranslation(t *testing.T) {
	from, to := time.UnixMilli(1_700_000_000_000), time.UnixMilli(1_700_000_600_000)
	tr := TimeRange{From: from, To: to}
	vars := map[string]string{"municipality": "amatitlan"}
	cases := []struct {
		q    Query
		want []string
	}{
		{Query{Command: CmdHGetAll, KeyName: "weather:counts"}, []string{"HGETALL", "weather:counts"}},
		{Query{Command: CmdHGet, KeyName: "municipality:$municipality", Field: "weather_most"}, []string{"HGET", "municipality:amatitlan", "weather_most"}},
		{Query{Command: CmdHGet, KeyName: "municipality:${municipality}", Field: "count"}, []string{"HGET", "municipality:amatitlan", "count"}},
		{Query{Command: CmdHMGet, KeyName: "broker:kafka", Field: "processed first"}, []string{"HMGET", "broker:kafka", "processed", "first"}},
		{Query{Command: CmdXRange, KeyName: "municipality:$municipality:series", Count: 10}, []string{"XRANGE", "municipality:amatitlan:series", "1700000000000-0", "1700000600000-0", "COUNT", "10"}},
		{Query{Command: CmdXRange, KeyName: "throughput", Start: "-", End: "+"}, []string{"XRANGE", "throughput", "-", "+"}},
		{Query{Command: CmdXRevRange, KeyName: "throughput", Count: 5}, []string{"XREVRANGE", "throughput", "1700000600000-0", "1700000000000-0", "COUNT", "5"}},
	}
	for _, c := range cases {
		rq, err := Resolve(c.q, vars)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Command(rq, tr)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Command(%+v) = %v, %v; want %v", c.q, got, err, c.want)
		}
	}
	if _, err := Resolve(Query{Command: CmdHGet, KeyName: "municipality:$nope", Field: "count"}, vars); err == nil {
		t.Error("unknown variable accepted")
	}
	if _, err := Command(Query{Command: CmdHGetAll, KeyName: "municipality:*"}, tr); err == nil {
		t.Error("key pattern accepted")
	}
}

const (
	helmValues  = "../../../grafana/values.yaml"
	argoGrafana = "../../../argocd/apps/grafana.yaml"
)

// The Helm values provision the plugin, the data source the dashboard names (uid and type),
// its password from a Secret and the dashboard sidecar; Argo CD's inlined copy agrees.
func TestHelmValuesMatchArgoApplication(t *testing.T) {
	var values map[string]any
	raw, err := os.ReadFile(helmValues)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatalf("%s: %v", helmValues, err)
	}
	if !reflect.DeepEqual(values["plugins"], []any{PluginID}) {
		t.Errorf("plugins = %v, want [%s]", values["plugins"], PluginID)
	}
	dss := dig(values, "datasources", "datasources.yaml", "datasources").([]any)
	ds := dss[0].(map[string]any)
	if ds["uid"] != DatasourceUID || ds["type"] != PluginID || !strings.HasPrefix(fmt.Sprint(ds["url"]), "redis://valkey-primary.tweets.svc") {
		t.Errorf("datasource %v: want uid %s, type %s, url redis://valkey-primary.tweets.svc...", ds, DatasourceUID, PluginID)
	}
	pw := fmt.Sprint(dig(ds, "secureJsonData", "password"))
	if !strings.Contains(pw, "VALKEY_PASSWORD") || dig(values, "envValueFrom", "VALKEY_PASSWORD", "secretKeyRef", "name") == nil {
		t.Errorf("the Valkey password must come from a Secret through $VALKEY_PASSWORD, got %q", pw)
	}
	if dig(values, "admin", "existingSecret") == nil {
		t.Error("the admin login must come from an existing Secret")
	}
	if dig(values, "sidecar", "dashboards", "enabled") != true || dig(values, "sidecar", "dashboards", "label") != "grafana_dashboard" {
		t.Error("the dashboards sidecar must load ConfigMaps labelled grafana_dashboard")
	}

	rawApp, err := os.ReadFile(argoGrafana)
	if os.IsNotExist(err) {
		t.Skipf("%s not there", argoGrafana)
	}
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	if err := yaml.Unmarshal(rawApp, &app); err != nil {
		t.Fatalf("%s: %v", argoGrafana, err)
	}
	inline, ok := dig(app, "spec", "source", "helm", "valuesObject").(map[string]any)
	if !ok {
		t.Skipf("%s has no inline valuesObject (it may read the values file)", argoGrafana)
	}
	for _, k := range []string{"admin", "plugins", "envValueFrom", "datasources", "sidecar"} {
		if !reflect.DeepEqual(values[k], inline[k]) {
			t.Errorf("%s differs between %s and %s:\n values: %v\n argo:   %v", k, helmValues, argoGrafana, values[k], inline[k])
		}
	}
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// The generated JSON is a valid dashboard for the SDK's schema: it decodes strictly (unknown
// or mistyped fields are rejected, in panels, options and our query type alike).
func TestJSONDecodesStrictlyWithTheSDK(t *testing.T) {
	raw, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	plugins.RegisterDefaultPlugins()
	cog.NewRuntime().RegisterDataqueryVariant(QueryVariantConfig())
	var d sdkdashboard.Dashboard
	// v0.0.22 returns a nil cog.BuildErrors (a non-nil error interface) when all is well.
	if err := d.UnmarshalJSONStrict(raw); err != nil {
		var be cog.BuildErrors
		if !errors.As(err, &be) || len(be) > 0 {
			t.Fatalf("strict decode: %v", err)
		}
	}
	if len(d.Panels) != len(model(t).Panels) {
		t.Errorf("decoded %d panels, want %d", len(d.Panels), len(model(t).Panels))
	}
	bad := bytes.Replace(raw, []byte(`"keyName": "weather:counts"`), []byte(`"keyName": "weather:counts", "keyField": "x"`), 1)
	var d2 sdkdashboard.Dashboard
	var be cog.BuildErrors
	if err := d2.UnmarshalJSONStrict(bad); err == nil || (errors.As(err, &be) && len(be) == 0) {
		t.Error("strict decoding accepted an unknown query field")
	}
}
