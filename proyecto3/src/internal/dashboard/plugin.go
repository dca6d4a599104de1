package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// This file reproduces, for tests and the preview, what the redis-datasource plugin does with a
// query of this dashboard: which command it sends to Valkey and the data frame it builds from
// the reply. It is an emulation of the plugin (github.com/RedisGrafana/grafana-redis-datasource),
// not of the aggregation: the values come from Valkey as the consumers wrote them. The plugin
// talks RESP2 through radix (pkg/redis-client.go); rueidis here may get RESP3 maps for HGETALL,
// which carry the same field/value pairs.

// Panel is the part of a dashboard panel that the tests and the preview read.
type Panel struct {
	ID              int                      `json:"id"`
	Type            string                   `json:"type"`
	Title           string                   `json:"title"`
	Description     string                   `json:"description"`
	Targets         []Query                  `json:"targets"`
	Transformations []Transform              `json:"transformations"`
	Options         json.RawMessage          `json:"options"`
	FieldConfig     json.RawMessage          `json:"fieldConfig"`
	GridPos         struct{ H, W, X, Y int } `json:"gridPos"`
	Datasource      *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
}

// Transform is one panel transformation.
type Transform struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

// Variable is a dashboard template variable.
type Variable struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Query   string `json:"query"`
	Current struct {
		Value any `json:"value"`
	} `json:"current"`
}

// Model is the dashboard JSON as the tests and the preview read it.
type Model struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []Panel `json:"panels"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Parse reads dashboard JSON.
func Parse(b []byte) (Model, error) {
	var m Model
	err := json.Unmarshal(b, &m)
	return m, err
}

// Variable returns the variable called name.
func (m Model) Variable(name string) (Variable, bool) {
	for _, v := range m.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// DataPanels are the panels that query Valkey (rows and text panels do not).
func (m Model) DataPanels() []Panel {
	var out []Panel
	for _, p := range m.Panels {
		if len(p.Targets) > 0 {
			out = append(out, p)
		}
	}
	return out
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)

// Interpolate replaces $name, ${name} and [[name]] as Grafana's template service does for the
// plugin (src/datasource/datasource.ts applyTemplateVariables: keyName and field). An unknown
// variable is an error: Grafana would send it literally.
func Interpolate(s string, vars map[string]string) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		g := varRef.FindStringSubmatch(ref)
		name := g[1] + g[2] + g[3]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q: unknown variable(s) %v", s, missing)
	}
	return out, nil
}

// TimeRange is the dashboard's time range.
type TimeRange struct{ From, To time.Time }

// Resolve returns q with its variables replaced, as the plugin's backend receives it.
func Resolve(q Query, vars map[string]string) (Query, error) {
	var err error
	if q.KeyName, err = Interpolate(q.KeyName, vars); err != nil {
		return q, err
	}
	if q.Field, err = Interpolate(q.Field, vars); err != nil {
		return q, err
	}
	return q, nil
}

// Command is the command the plugin's backend sends for a resolved query:
//   - hgetall (pkg/redis-hash.go queryHGetAll): HGETALL key. A key with * ? [ ] is first expanded
//     with SCAN (newer plugin versions); this dashboard never uses one (Validate in tests).
//   - hget (queryHGet): HGET key field.
//   - hmget (queryHMGet): HMGET key f1 f2 ..., the field split like a shell line.
//   - get (pkg/query.go queryKeyCommand): GET key.
//   - xrange / xrevrange (pkg/redis-stream.go queryXRange / queryXRevRange): XRANGE key start end
//     [COUNT n] with start "<from ms>-0" and end "<to ms>-0" unless given; XREVRANGE swaps them.
func Command(q Query, tr TimeRange) ([]string, error) {
	if q.KeyName == "" {
		return nil, fmt.Errorf("query %s: empty keyName", q.RefId)
	}
	switch q.Command {
	case CmdHGetAll:
		if strings.ContainsAny(q.KeyName, "*?[]") {
			return nil, fmt.Errorf("query %s: key pattern %q would make the plugin SCAN", q.RefId, q.KeyName)
		}
		return []string{"HGETALL", q.KeyName}, nil
	case CmdHGet:
		return []string{"HGET", q.KeyName, q.Field}, nil
	case CmdHMGet:
		return append([]string{"HMGET", q.KeyName}, strings.Fields(q.Field)...), nil
	case CmdGet:
		return []string{"GET", q.KeyName}, nil
	case CmdXRange, CmdXRevRange:
		start := strconv.FormatInt(tr.From.UnixMilli(), 10) + "-0"
		if q.Start != "" {
			start = q.Start
		}
		end := strconv.FormatInt(tr.To.UnixMilli(), 10) + "-0"
		if q.End != "" {
			end = q.End
		}
		cmd := []string{"XRANGE", q.KeyName, start, end}
		if q.Command == CmdXRevRange {
			cmd = []string{"XREVRANGE", q.KeyName, end, start}
		}
		if q.Count > 0 {
			cmd = append(cmd, "COUNT", strconv.Itoa(q.Count))
		}
		return cmd, nil
	}
	return nil, fmt.Errorf("query %s: command %q not emulated", q.RefId, q.Command)
}

// Field is one column of a frame: numbers (float64), strings or times.
type Field struct {
	Name    string
	Numbers []float64
	Strings []string
	Times   []time.Time
}

// IsNumber reports whether the plugin typed the field float64.
func (f Field) IsNumber() bool { return f.Numbers != nil }

// Len is the number of rows.
func (f Field) Len() int { return max(len(f.Numbers), len(f.Strings), len(f.Times)) }

// Frame is the data frame the plugin returns for one query.
type Frame struct {
	Name   string
	Fields []Field
}

// Field returns the field called name.
func (f Frame) Field(name string) (Field, bool) {
	for _, x := range f.Fields {
		if x.Name == name {
			return x, true
		}
	}
	return Field{}, false
}

// Rows is the number of rows (0 for a frame without fields).
func (f Frame) Rows() int {
	if len(f.Fields) == 0 {
		return 0
	}
	return f.Fields[0].Len()
}

// Result is a query run the plugin's way.
type Result struct {
	Command []string
	Reply   rueidis.RedisMessage
	Frame   Frame
}

// Empty reports whether Valkey answered nothing: nil, an empty array or an empty map (HMGET:
// only nils).
func (r Result) Empty() bool {
	m := r.Reply
	if m.IsNil() {
		return true
	}
	if m.IsMap() {
		mm, _ := m.AsMap()
		return len(mm) == 0
	}
	if arr, err := m.ToArray(); err == nil {
		for _, v := range arr {
			if !v.IsNil() {
				return false
			}
		}
		return true
	}
	return false
}

// Run resolves q, sends the plugin's command and builds the plugin's frame.
func Run(ctx context.Context, c rueidis.Client, q Query, vars map[string]string, tr TimeRange) (Result, error) {
	rq, err := Resolve(q, vars)
	if err != nil {
		return Result{}, err
	}
	cmd, err := Command(rq, tr)
	if err != nil {
		return Result{}, err
	}
	msg, err := c.Do(ctx, c.B().Arbitrary(cmd[0]).Args(cmd[1:]...).Build()).ToMessage()
	if err != nil && !rueidis.IsRedisNil(err) {
		return Result{}, fmt.Errorf("%v: %w", cmd, err)
	}
	fr, err := toFrame(rq, msg)
	if err != nil {
		return Result{}, fmt.Errorf("%v: %w", cmd, err)
	}
	return Result{Command: cmd, Reply: msg, Frame: fr}, nil
}

// valueField types a value as the plugin does: float64 when strconv.ParseFloat accepts it,
// else string (pkg/redis-hash.go, pkg/data-frame.go createFrameValue).
func valueField(name, v string) Field {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return Field{Name: name, Numbers: []float64{f}}
	}
	return Field{Name: name, Strings: []string{v}}
}

func toFrame(q Query, msg rueidis.RedisMessage) (Frame, error) {
	switch q.Command {
	case CmdHGetAll:
		fr := Frame{Name: q.Command}
		if msg.IsNil() {
			return fr, nil
		}
		m, err := msg.AsStrMap() // RESP3 map or RESP2 flat array
		if err != nil {
			return fr, err
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fr.Fields = append(fr.Fields, valueField(k, m[k]))
		}
		return fr, nil
	case CmdHGet, CmdGet:
		// radix decodes a nil reply into "" (a string field with one empty row).
		s, _ := msg.ToString()
		name := q.Field
		if q.Command == CmdGet {
			name = "Value"
		}
		return Frame{Name: name, Fields: []Field{valueField(name, s)}}, nil
	case CmdHMGet:
		fr := Frame{Name: q.Command}
		arr, err := msg.ToArray()
		if err != nil {
			return fr, err
		}
		fields := strings.Fields(q.Field)
		for i, v := range arr {
			s, _ := v.ToString()
			fr.Fields = append(fr.Fields, valueField(fields[i], s))
		}
		return fr, nil
	case CmdXRange, CmdXRevRange:
		// pkg/redis-stream.go createFrameFromRangeResponse: "$streamId", "$time" (the id's ms),
		// then one field per entry field, float64 if its first value parses.
		fr := Frame{Name: q.Command, Fields: []Field{{Name: "$streamId", Strings: []string{}}, {Name: "$time", Times: []time.Time{}}}}
		entries, err := msg.AsXRange()
		if err != nil {
			return fr, err
		}
		index := map[string]int{}
		for row, e := range entries {
			fr.Fields[0].Strings = append(fr.Fields[0].Strings, e.ID)
			ms, _ := strconv.ParseInt(strings.SplitN(e.ID, "-", 2)[0], 10, 64)
			fr.Fields[1].Times = append(fr.Fields[1].Times, time.UnixMilli(ms))
			keys := make([]string, 0, len(e.FieldValues))
			for k := range e.FieldValues {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := e.FieldValues[k]
				i, ok := index[k]
				if !ok {
					nf := Field{Name: k}
					_, perr := strconv.ParseFloat(v, 64)
					if perr == nil {
						nf.Numbers = make([]float64, row)
					} else {
						nf.Strings = make([]string, row)
					}
					fr.Fields = append(fr.Fields, nf)
					i = len(fr.Fields) - 1
					index[k] = i
				}
				f := &fr.Fields[i]
				if f.Numbers != nil {
					n, _ := strconv.ParseFloat(v, 64)
					f.Numbers = append(f.Numbers, n)
				} else {
					f.Strings = append(f.Strings, v)
				}
			}
			for _, i := range index { // fields missing from this entry: 0 / ""
				f := &fr.Fields[i]
				if f.Len() < row+1 {
					if f.Numbers != nil {
						f.Numbers = append(f.Numbers, 0)
					} else {
						f.Strings = append(f.Strings, "")
					}
				}
			}
		}
		return fr, nil
	}
	return Frame{}, fmt.Errorf("command %q not emulated", q.Command)
}
