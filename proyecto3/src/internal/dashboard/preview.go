package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// PreviewOptions says where the preview reads its data.
type PreviewOptions struct {
	Addr, Password string
	DB             int
	Carnet         string
	Window         time.Duration // XRANGE time range: now-Window .. now
}

// WritePreview runs every panel's query of the generated dashboard against Valkey, the way the
// plugin does (Run), and writes an HTML page that lays the panels out like Grafana's grid:
// bars for the bar charts, values for the stats, SVG lines for the time series. Grafana cannot
// run here; this shows the data each panel receives.
func WritePreview(ctx context.Context, path string, o PreviewOptions) error {
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{o.Addr}, Password: o.Password, SelectDB: o.DB,
		DisableCache: true, ForceSingleClient: true,
	})
	if err != nil {
		return fmt.Errorf("connect to Valkey at %s: %w", o.Addr, err)
	}
	defer c.Close()
	page, err := RenderPreview(ctx, c, o)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(page), 0o644)
}

// RenderPreview returns the preview page.
func RenderPreview(ctx context.Context, c rueidis.Client, o PreviewOptions) (string, error) {
	raw, err := Build()
	if err != nil {
		return "", err
	}
	m, err := Parse(raw)
	if err != nil {
		return "", err
	}
	if o.Carnet == "" {
		o.Carnet = DefaultCarnet
	}
	if o.Window <= 0 {
		o.Window = 30 * time.Minute
	}
	mun, err := MunicipalityForCarnet(o.Carnet)
	if err != nil {
		return "", err
	}
	vars := map[string]string{"carnet": o.Carnet, "municipality": mun}
	now := time.Now()
	tr := TimeRange{From: now.Add(-o.Window), To: now}

	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html><html lang="es"><head><meta charset="utf-8"><title>%s — vista previa</title><style>%s</style></head><body>`, html.EscapeString(m.Title), previewCSS)
	fmt.Fprintf(&b, `<header><h1>%s</h1><div class="vars"><span>Carnet <b>%s</b></span><span>Municipio <b>%s</b></span><span>Rango <b>últimos %s</b></span><span class="note">Vista previa generada %s desde Valkey %s (db %d), con las consultas exactas del plugin redis-datasource de cada panel.</span></div></header>`,
		html.EscapeString(m.Title), html.EscapeString(o.Carnet), html.EscapeString(mun), o.Window, now.UTC().Format("2006-01-02 15:04:05 UTC"), html.EscapeString(o.Addr), o.DB)
	b.WriteString(`<main class="grid">`)
	for _, p := range m.Panels {
		title, _ := Interpolate(p.Title, vars)
		style := fmt.Sprintf(`grid-column:%d / span %d;grid-row:%d / span %d`, p.GridPos.X+1, p.GridPos.W, p.GridPos.Y+1, p.GridPos.H)
		if p.Type == "row" {
			fmt.Fprintf(&b, `<div class="row" style="%s">%s</div>`, style, html.EscapeString(title))
			continue
		}
		var results []Result
		for _, t := range p.Targets {
			r, err := Run(ctx, c, t, vars, tr)
			if err != nil {
				return "", fmt.Errorf("panel %q: %w", p.Title, err)
			}
			results = append(results, r)
		}
		var cmds []string
		for _, r := range results {
			cmds = append(cmds, strings.Join(r.Command, " "))
		}
		body := renderPanel(p, results, vars)
		fmt.Fprintf(&b, `<section class="panel" style="%s"><h2>%s</h2><div class="body">%s</div>`, style, html.EscapeString(title), body)
		if len(cmds) > 0 {
			fmt.Fprintf(&b, `<code>%s</code>`, html.EscapeString(shorten(strings.Join(cmds, " · "), 120)))
		}
		b.WriteString(`</section>`)
	}
	b.WriteString(`</main></body></html>`)
	return b.String(), nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

const previewCSS = `
body{margin:0;background:#111217;color:#ccccdc;font:13px/1.35 Inter,Helvetica,Arial,sans-serif}
header{padding:10px 16px;border-bottom:1px solid #2c2d33}
h1{font-size:18px;margin:0 0 6px;color:#fff}
.vars span{display:inline-block;margin-right:14px;background:#181b1f;border:1px solid #2c2d33;padding:3px 8px;border-radius:2px}
.vars span.note{border:0;background:none;color:#8e8e9e;padding:0}
.grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:30px;gap:8px;padding:8px 16px}
.row{font-size:15px;font-weight:600;color:#fff;align-self:end;border-bottom:1px solid #2c2d33}
.panel{background:#181b1f;border:1px solid #2c2d33;border-radius:2px;display:flex;flex-direction:column;overflow:hidden;min-width:0}
.panel h2{font-size:13px;font-weight:500;margin:0;padding:5px 8px;color:#fff;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.panel .body{flex:1;display:flex;align-items:center;justify-content:center;min-height:0;padding:0 6px}
.panel code{font-size:9.5px;color:#7f8090;padding:2px 8px 4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.nodata{color:#8e8e9e;font-size:14px}
.stats{display:flex;gap:18px;justify-content:center;align-items:center;width:100%}
.stat{text-align:center}.stat .v{font-size:30px;font-weight:500}.stat .n{font-size:12px;color:#ccccdc}
.text{width:100%;text-align:center}.text .big{font-size:28px;font-weight:600;color:#fff}.text p{font-size:11px;color:#8e8e9e;margin:4px 0 0}
svg text{fill:#ccccdc;font-size:11px}
`

var palette = []string{"#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#b877d9", "#f2495c", "#8ab8ff", "#ffb357", "#96d98d", "#fade2a", "#ca95e5"}

type fieldCfg struct {
	Defaults struct {
		Unit     string   `json:"unit"`
		Decimals *float64 `json:"decimals"`
		Custom   struct {
			DrawStyle string `json:"drawStyle"`
		} `json:"custom"`
		Color struct {
			FixedColor string `json:"fixedColor"`
		} `json:"color"`
	} `json:"defaults"`
	Overrides []struct {
		Matcher struct {
			ID      string `json:"id"`
			Options any    `json:"options"`
		} `json:"matcher"`
		Properties []struct {
			ID    string `json:"id"`
			Value any    `json:"value"`
		} `json:"properties"`
	} `json:"overrides"`
}

// override returns the property of the override matching (field name or refId).
func (fc fieldCfg) override(match, refID, prop string) (string, bool) {
	for _, o := range fc.Overrides {
		opt, _ := o.Matcher.Options.(string)
		if (o.Matcher.ID == "byName" && opt == match) || (o.Matcher.ID == "byFrameRefID" && opt == refID) {
			for _, p := range o.Properties {
				if p.ID == prop {
					return fmt.Sprint(p.Value), true
				}
			}
		}
	}
	return "", false
}

func formatValue(v float64, unit string, decimals *float64) string {
	d := 2
	if decimals != nil {
		d = int(*decimals)
	} else if v == math.Trunc(v) {
		d = 0
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	switch unit {
	case "celsius":
		return s + " °C"
	case "percent":
		return s + "%"
	case "ms":
		return s + " ms"
	}
	return s
}

func renderPanel(p Panel, rs []Result, vars map[string]string) string {
	var fc fieldCfg
	_ = json.Unmarshal(p.FieldConfig, &fc)
	noData := `<span class="nodata">` + NoData + `</span>`
	switch p.Type {
	case "text":
		var opt struct{ Content string }
		_ = json.Unmarshal(p.Options, &opt)
		content, _ := Interpolate(opt.Content, vars)
		lines := strings.SplitN(content, "\n", 2)
		out := `<div class="text"><div class="big">` + html.EscapeString(strings.TrimPrefix(lines[0], "# ")) + `</div>`
		if len(lines) > 1 && strings.TrimSpace(lines[1]) != "" {
			out += `<p>` + html.EscapeString(strings.TrimSpace(lines[1])) + `</p>`
		}
		return out + `</div>`
	case "stat":
		var opt struct {
			ReduceOptions struct{ Fields string } `json:"reduceOptions"`
		}
		_ = json.Unmarshal(p.Options, &opt)
		var items []string
		for i, r := range rs {
			for _, f := range r.Frame.Fields {
				label := f.Name
				if s, ok := fc.override(f.Name, p.Targets[i].RefId, "displayName"); ok {
					label = s
				}
				color := grafanaColor(fc.Defaults.Color.FixedColor)
				if c, ok := fc.override(f.Name, p.Targets[i].RefId, "color"); ok {
					color = grafanaColor(c)
				}
				switch {
				case opt.ReduceOptions.Fields == "" && f.IsNumber() && len(f.Numbers) > 0:
					// numeric fields only: the plugin's "" for an absent key is a string, ignored
					v := f.Numbers[len(f.Numbers)-1]
					items = append(items, statHTML(formatValue(v, fc.Defaults.Unit, fc.Defaults.Decimals), label, color, len(rs) > 1))
				case opt.ReduceOptions.Fields != "" && regexMatch(opt.ReduceOptions.Fields, f.Name):
					// filterByValue (regex .+) drops the empty row of an absent key
					if len(f.Strings) > 0 && f.Strings[0] != "" {
						items = append(items, statHTML(html.EscapeString(f.Strings[0]), label, "#ffffff", false))
					}
				}
			}
		}
		if len(items) == 0 {
			return noData
		}
		return `<div class="stats">` + strings.Join(items, "") + `</div>`
	case "barchart":
		// Grafana's bar chart warns "No data in response" for frames without rows (its
		// prepSeries runs before the noValue text is consulted).
		noRows := `<span class="nodata">No data in response</span>`
		if len(rs) == 0 || len(rs[0].Frame.Fields) == 0 {
			return noRows
		}
		order, rename := organizeOf(p)
		fields := append([]Field(nil), rs[0].Frame.Fields...)
		sort.SliceStable(fields, func(i, j int) bool { return rank(order, fields[i].Name) < rank(order, fields[j].Name) })
		var labels []string
		var values []float64
		for _, f := range fields {
			if !f.IsNumber() || len(f.Numbers) == 0 {
				continue
			}
			l := f.Name
			if r, ok := rename[f.Name]; ok && r != "" {
				l = r
			}
			labels = append(labels, l)
			values = append(values, f.Numbers[0])
		}
		if len(values) == 0 {
			return noRows
		}
		return barsSVG(labels, values, fc.Defaults.Unit, fc.Defaults.Decimals, p.GridPos.W, p.GridPos.H)
	case "timeseries":
		if len(rs) == 0 || rs[0].Frame.Rows() == 0 {
			return noData
		}
		return seriesSVG(rs[0].Frame, fc, p.GridPos.W, p.GridPos.H)
	}
	return noData
}

// grafanaColor maps the named colors this dashboard uses (and fixed-color objects) to hex.
func grafanaColor(c string) string {
	for name, hex := range map[string]string{"purple": "#b877d9", "orange": "#ff9830", "blue": "#5794f2", "green": "#73bf69"} {
		if strings.Contains(c, name) {
			return hex
		}
	}
	if strings.HasPrefix(c, "#") {
		return c
	}
	return "#73bf69"
}

func statHTML(value, name, color string, showName bool) string {
	n := ""
	if showName {
		n = `<div class="n">` + html.EscapeString(name) + `</div>`
	}
	return `<div class="stat"><div class="v" style="color:` + color + `">` + value + `</div>` + n + `</div>`
}

func regexMatch(pattern, s string) bool {
	pattern = strings.TrimSuffix(strings.TrimPrefix(pattern, "/"), "/")
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(s)
}

func organizeOf(p Panel) ([]string, map[string]string) {
	rename := map[string]string{}
	for _, t := range p.Transformations {
		if t.ID != "organize" {
			continue
		}
		idx, _ := t.Options["indexByName"].(map[string]any)
		order := make([]string, len(idx))
		for k, v := range idx {
			if i, ok := v.(float64); ok && int(i) < len(order) {
				order[int(i)] = k
			}
		}
		if rn, ok := t.Options["renameByName"].(map[string]any); ok {
			for k, v := range rn {
				rename[k] = fmt.Sprint(v)
			}
		}
		return order, rename
	}
	return nil, rename
}

func rank(order []string, name string) int {
	for i, o := range order {
		if o == name {
			return i
		}
	}
	return len(order)
}

// grid units → pixels, roughly as in a 1400 px wide page.
func panelSize(w, h int) (float64, float64) {
	return float64(w)*54 - 16, float64(h)*38 - 60
}

func barsSVG(labels []string, values []float64, unit string, decimals *float64, gw, gh int) string {
	W, H := panelSize(gw, gh)
	lo, hi := 0.0, 0.0
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi == lo {
		hi = lo + 1
	}
	top, bottom := 18.0, 20.0
	y := func(v float64) float64 { return top + (H-top-bottom)*(hi-v)/(hi-lo) }
	slot := W / float64(len(values))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`, W, H, W, H)
	fmt.Fprintf(&b, `<line x1="0" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#3a3b42"/>`, y(0), W, y(0))
	for i, v := range values {
		x := float64(i)*slot + slot*0.15
		y0, y1 := math.Min(y(0), y(v)), math.Max(y(0), y(v))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.85"/>`, x, y0, slot*0.7, y1-y0, palette[0])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+slot*0.35, y0-4, html.EscapeString(formatValue(v, unit, decimals)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+slot*0.35, H-5, html.EscapeString(labels[i]))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func seriesSVG(fr Frame, fc fieldCfg, gw, gh int) string {
	W, H := panelSize(gw, gh)
	tf, _ := fr.Field("$time")
	var series []Field
	for _, f := range fr.Fields {
		if f.IsNumber() {
			series = append(series, f)
		}
	}
	if len(tf.Times) == 0 || len(series) == 0 {
		return `<span class="nodata">` + NoData + `</span>`
	}
	t0, t1 := tf.Times[0], tf.Times[len(tf.Times)-1]
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	left, right, top, bottom, legend := 48.0, 48.0, 8.0, 22.0, 16.0
	plotW, plotH := W-left-right, H-top-bottom-legend
	x := func(t time.Time) float64 { return left + plotW*t.Sub(t0).Seconds()/span }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`, W, H, W, H)
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#2c2d33"/>`, left, top, plotW, plotH)
	for k := 0; k <= 4; k++ { // time ticks
		t := t0.Add(time.Duration(float64(k) / 4 * span * float64(time.Second)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x(t), top+plotH+14, t.Local().Format("15:04:05"))
	}
	legendX := left
	for si, f := range series {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range f.Numbers {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if lo > 0 {
			lo = 0
		}
		if hi == lo {
			hi = lo + 1
		}
		y := func(v float64) float64 { return top + plotH - plotH*(v-lo)/(hi-lo) }
		color := palette[si%len(palette)]
		unit := fc.Defaults.Unit
		if u, ok := fc.override(f.Name, "", "unit"); ok {
			unit = u
		}
		name := f.Name
		if n, ok := fc.override(f.Name, "", "displayName"); ok {
			name = n
		}
		axisRight := false
		if a, ok := fc.override(f.Name, "", "custom.axisPlacement"); ok && a == "right" {
			axisRight = true
		}
		ax, anchor := left-4, "end"
		if axisRight {
			ax, anchor = left+plotW+4, "start"
		}
		for k := 0; k <= 4; k++ {
			v := lo + (hi-lo)*float64(k)/4
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="%s" style="fill:%s">%s</text>`, ax, y(v)+4, anchor, color, html.EscapeString(formatValue(v, unit, ptr(0.0))))
		}
		if fc.Defaults.Custom.DrawStyle == "bars" {
			bw := math.Max(1, plotW/float64(len(f.Numbers))*0.7)
			for i, v := range f.Numbers {
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.7"/>`, x(tf.Times[i])-bw/2, y(v), bw, top+plotH-y(v), color)
			}
		} else {
			var pts []string
			for i, v := range f.Numbers {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(tf.Times[i]), y(v)))
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.2"/>`, strings.Join(pts, " "), color)
			if len(f.Numbers) <= 400 {
				for _, pt := range pts {
					xy := strings.Split(pt, ",")
					fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="1.8" fill="%s"/>`, xy[0], xy[1], color)
				}
			}
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="14" height="4" fill="%s"/><text x="%.1f" y="%.1f">%s (%d puntos)</text>`, legendX, H-9, color, legendX+18, H-4, html.EscapeString(name), len(f.Numbers))
		legendX += 200
	}
	b.WriteString(`</svg>`)
	return b.String()
}
