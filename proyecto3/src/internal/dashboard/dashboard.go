// Package dashboard is the Grafana dashboard "Tweets del Clima" as code: Build returns the JSON
// that cmd/dashgen writes to proyecto3/grafana/dashboards/tweets.json (provisioned through a
// ConfigMap). Every panel reads Valkey through the Redis data source plugin (redis-datasource),
// one plugin command per query, on the keys of proyecto3/docs/contracts.md ("Valkey key schema").
//
// How the plugin turns replies into data frames (which decides the transformations below) was
// read in the plugin's source, github.com/RedisGrafana/grafana-redis-datasource (v2.x):
//   - pkg/redis-hash.go  queryHGetAll: ONE row, one field per hash field, float64 when the value
//     parses as a number, else string; an absent key gives a frame with no fields.
//   - pkg/redis-hash.go  queryHGet: one row, one field named after the requested field
//     (CHANGELOG 1.5.0); an absent key/field is decoded as "" and becomes a STRING field holding "".
//   - pkg/redis-stream.go queryXRange: `XRANGE key start end [COUNT n]`, start/end default to the
//     dashboard's time range as "<from ms>-0"/"<to ms>-0" (CHANGELOG 2.0.0); the frame has
//     "$streamId", "$time" (from the id's milliseconds) and one float64 field per entry field.
//   - src/datasource/datasource.ts applyTemplateVariables: $variables are replaced in keyName
//     and field (not in start/end/count).
package dashboard

//lint:file-ignore SA1019 the classic (v1) dashboard model is what Grafana's file provisioning and the chart's sidecar load; the SDK's v2 model needs Grafana 12 with feature toggles.

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/text"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

const (
	// UID and Title of the dashboard.
	UID   = "tweets-del-clima"
	Title = "Tweets del Clima"

	// DefaultCarnet is the carnet shown until someone types theirs in the `carnet` textbox.
	DefaultCarnet = "201900000"

	// SeriesCount bounds every XRANGE: at most this many points per query. It equals the
	// consumers' MAXLEN of each municipality's series, so within the time range nothing kept is
	// cut off for the series, and it is 2.7 h of per-second throughput.
	SeriesCount = 10000

	// NoData is what a panel shows with an empty database.
	NoData = "No data"
)

// Municipalities and Weathers in the proto's enum order (bars follow it).
var (
	Municipalities = []string{"mixco", "guatemala", "amatitlan", "chinautla"}
	Weathers       = []string{"sunny", "cloudy", "rainy", "foggy"}
	Brokers        = []string{"kafka", "rabbitmq"}
	// LatencyBuckets are the fields of broker:<b>:latency (contracts.md), in order.
	LatencyBuckets = []string{"le_5", "le_10", "le_25", "le_50", "le_100", "le_250", "le_500", "le_1000", "le_2500", "le_5000", "le_inf"}
)

// MunicipalityForCarnet applies the statement's rule to the carnet's last digit:
// 0,1,2 mixco; 3,4,5 guatemala; 6,7 amatitlan; 8,9 chinautla.
func MunicipalityForCarnet(carnet string) (string, error) {
	carnet = strings.TrimSpace(carnet)
	if carnet == "" {
		return "", fmt.Errorf("empty carnet")
	}
	d := carnet[len(carnet)-1]
	switch {
	case d >= '0' && d <= '2':
		return "mixco", nil
	case d >= '3' && d <= '5':
		return "guatemala", nil
	case d == '6' || d == '7':
		return "amatitlan", nil
	case d == '8' || d == '9':
		return "chinautla", nil
	}
	return "", fmt.Errorf("carnet %q does not end in a digit", carnet)
}

const carnetRule = "Último dígito del carnet → municipio: 0, 1, 2 = mixco; 3, 4, 5 = guatemala; 6, 7 = amatitlan; 8, 9 = chinautla."

// Build returns the dashboard JSON (indented, trailing newline), deterministic for a given
// source so that the committed file can be checked for staleness.
func Build() ([]byte, error) {
	d, err := builder().Build()
	if err != nil {
		return nil, err
	}
	// Panel ids: unique, in layout order (the SDK leaves them unset).
	for i := range d.Panels {
		id := uint32(i + 1)
		if p := d.Panels[i].Panel; p != nil {
			p.Id = &id
		}
		if r := d.Panels[i].RowPanel; r != nil {
			r.Id = id
		}
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func builder() *dashboard.DashboardBuilder {
	defMunicipality, err := MunicipalityForCarnet(DefaultCarnet)
	if err != nil {
		panic(err)
	}
	ds := Datasource()
	b := dashboard.NewDashboardBuilder(Title).
		Uid(UID).
		Description("Reportes del clima (proyecto 3): agregados que los consumidores mantienen en Valkey, leídos con el plugin redis-datasource. Con la base vacía todos los paneles de datos muestran \"No data\".").
		Tags([]string{"tweets-del-clima", "valkey"}).
		Editable().
		Timezone("browser").
		Time("now-30m", "now").
		Refresh("5s").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewTextBoxVariableBuilder("carnet").
			Label("Carnet").
			Description("Carnet del estudiante (se puede cambiar aquí). " + carnetRule).
			DefaultValue(strOrMap(DefaultCarnet)).
			Current(option(DefaultCarnet, true))).
		WithVariable(dashboard.NewCustomVariableBuilder("municipality").
			Label("Municipio").
			Description("Municipio del estudiante según su carnet. " + carnetRule).
			Values(strOrMap(strings.Join(Municipalities, ","))).
			Current(option(defMunicipality, true)).
			Options(municipalityOptions(defMunicipality)))

	// --- Global (statement, section 4.3.2) ---
	b.WithRow(dashboard.NewRowBuilder("Global"))
	b.WithPanel(hashBars("Humedad promedio por municipio",
		"HGETALL municipality:avg_humidity — promedio de humedad (%) de cada municipio.",
		"municipality:avg_humidity", Municipalities, "percent", "Humedad promedio"))
	b.WithPanel(hashBars("Temperatura promedio por municipio",
		"HGETALL municipality:avg_temperature — promedio de temperatura (°C) de cada municipio.",
		"municipality:avg_temperature", Municipalities, "celsius", "Temperatura promedio"))
	b.WithPanel(hashBars("Total de reportes por clima",
		"HGETALL weather:counts — cuántas veces se reportó cada condición.",
		"weather:counts", Weathers, "none", "Reportes"))
	b.WithPanel(numberStat("Temperatura más alta", "HGET global:stats temperature_max", "celsius", 6,
		HGet("A", "global:stats", "temperature_max")))
	b.WithPanel(numberStat("Temperatura más baja", "HGET global:stats temperature_min", "celsius", 6,
		HGet("A", "global:stats", "temperature_min")))
	b.WithPanel(numberStat("Humedad más alta", "HGET global:stats humidity_max", "percent", 6,
		HGet("A", "global:stats", "humidity_max")))
	b.WithPanel(numberStat("Humedad más baja", "HGET global:stats humidity_min", "percent", 6,
		HGet("A", "global:stats", "humidity_min")))

	// --- Per student (statement, section 4.3.2) ---
	b.WithRow(dashboard.NewRowBuilder("Estudiante: carnet ${carnet}, municipio ${municipality}"))
	b.WithPanel(text.NewPanelBuilder().
		Title("Carnet").
		Description("Variable del dashboard `carnet` (cuadro de texto arriba). " + carnetRule).
		Mode(text.TextModeMarkdown).
		Content("# ${carnet}\n\n" + carnetRule).
		Height(5).Span(6))
	b.WithPanel(text.NewPanelBuilder().
		Title("Municipio").
		Description("Variable del dashboard `municipality` (lista arriba), elegida con la regla del carnet. " + carnetRule).
		Mode(text.TextModeMarkdown).
		Content("# ${municipality}").
		Height(5).Span(4))
	b.WithPanel(numberStat("Reportes de ${municipality}", "HGET municipality:$municipality count", "none", 4,
		HGet("A", "municipality:$municipality", "count")).Height(5))
	b.WithPanel(textStat("Clima más común en ${municipality}",
		"HGET municipality:$municipality weather_most — entre las cuatro condiciones; empates: el primero en el orden del proto (sunny, cloudy, rainy, foggy).",
		"municipality:$municipality", "weather_most"))
	b.WithPanel(textStat("Clima menos común en ${municipality}",
		"HGET municipality:$municipality weather_least — cuenta también las condiciones nunca reportadas (cero); empates: el primero en el orden del proto.",
		"municipality:$municipality", "weather_least"))
	b.WithPanel(timeseries.NewPanelBuilder().
		Title("Temperatura y humedad en ${municipality}").
		Description(fmt.Sprintf("XRANGE municipality:$municipality:series <inicio del rango>-0 <fin del rango>-0 COUNT %d — un punto por reporte.", SeriesCount)).
		Datasource(ds).
		WithTarget(XRange("A", "municipality:$municipality:series", SeriesCount)).
		NoValue(NoData).
		Height(9).Span(24).
		LineWidth(1).ShowPoints(common.VisibilityModeAlways).PointSize(4).
		SpanNulls(common.BoolOrFloat64{Bool: ptr(true)}).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone)).
		OverrideByName("temperature", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "Temperatura (°C)"},
			{Id: "unit", Value: "celsius"},
		}).
		OverrideByName("humidity", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "Humedad (%)"},
			{Id: "unit", Value: "percent"},
			{Id: "custom.axisPlacement", Value: "right"},
		}))

	// --- Brokers and throughput (ours, beyond the statement) ---
	b.WithRow(dashboard.NewRowBuilder("Brokers y rendimiento"))
	b.WithPanel(brokerStat("Procesados por broker",
		"HGET broker:<b> processed — entregas guardadas por cada consumidor (incluye duplicados).",
		"processed", "none"))
	b.WithPanel(brokerStat("Entregado primero por broker",
		"HGET broker:<b> first — tweets que cada broker entregó antes que el otro (nuevos al guardarse).",
		"first", "none"))
	b.WithPanel(brokerStat("Latencia promedio extremo a extremo",
		"HGET broker:<b> latency_avg_ms — recibido en la api → guardado en Valkey.",
		"latency_avg_ms", "ms"))
	b.WithPanel(numberStat("Tweets guardados", "HGET global:stats tweets — tweets distintos.", "none", 6,
		HGet("A", "global:stats", "tweets")))
	for _, br := range Brokers {
		b.WithPanel(hashBars("Histograma de latencia: "+br,
			"HGETALL broker:"+br+":latency — entregas por intervalo de latencia (ms), no acumulado.",
			"broker:"+br+":latency", LatencyBuckets, "none", "Entregas").Span(12).
			Organize(LatencyBuckets, latencyLabels()))
	}
	b.WithPanel(timeseries.NewPanelBuilder().
		Title("Tweets por segundo").
		Description(fmt.Sprintf("XRANGE throughput <inicio del rango>-0 <fin del rango>-0 COUNT %d — un punto por segundo con tweets nuevos.", SeriesCount)).
		Datasource(ds).
		WithTarget(XRange("A", "throughput", SeriesCount)).
		NoValue(NoData).
		Height(8).Span(24).
		DrawStyle(common.GraphDrawStyleBars).FillOpacity(60).LineWidth(1).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		OverrideByName("tweets", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "Tweets/s"},
			{Id: "unit", Value: "none"},
		}))
	return b
}

// barsBuilder wraps the SDK's bar chart builder to reorder the hash's fields.
type barsBuilder struct {
	*barchart.PanelBuilder
	order  []string
	rename map[string]string
	value  string
}

// Organize sets the order of the bars (the hash fields) and their labels.
func (b *barsBuilder) Organize(order []string, rename map[string]string) *barsBuilder {
	b.order, b.rename = order, rename
	return b
}

func (b *barsBuilder) Span(w uint32) *barsBuilder { b.PanelBuilder.Span(w); return b }

func (b *barsBuilder) Build() (dashboard.Panel, error) {
	// HGETALL gives one row whose fields are the hash's fields, in the hash's insertion order
	// (pkg/redis-hash.go). organize puts them in the proto's order; reduce (series to rows,
	// last value) turns each field into a row "Field" → "Last *", which the bar chart draws with
	// "Field" on the x axis. An absent hash gives a frame without fields: nothing to draw.
	b.PanelBuilder.Transformations([]dashboard.DataTransformerConfig{
		organize(b.order, b.rename),
		{Id: "reduce", Options: map[string]any{
			"mode":             "seriesToRows",
			"reducers":         []string{"lastNotNull"},
			"includeTimeField": false,
		}},
	})
	b.PanelBuilder.OverrideByName("Last *", []dashboard.DynamicConfigValue{{Id: "displayName", Value: b.value}})
	return b.PanelBuilder.Build()
}

func hashBars(title, desc, key string, order []string, unit, valueName string) *barsBuilder {
	p := barchart.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(Datasource()).
		WithTarget(HGetAll("A", key)).
		NoValue(NoData).
		Unit(unit).
		XField("Field").
		Orientation(common.VizOrientationVertical).
		ShowValue(common.VisibilityModeAlways).
		Stacking(common.StackingModeNone).
		FillOpacity(80).
		GroupWidth(0.7).
		BarWidth(0.9).
		XTickLabelRotation(0).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(false).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone)).
		Height(8).Span(8)
	if unit != "none" {
		p.Decimals(2)
	} else {
		p.Decimals(0)
	}
	if unit != "celsius" { // temperatures may be below zero; counts and humidity may not
		p.Min(0)
	}
	return &barsBuilder{PanelBuilder: p, order: order, value: valueName}
}

func organize(order []string, rename map[string]string) dashboard.DataTransformerConfig {
	index := map[string]int{}
	for i, f := range order {
		index[f] = i
	}
	if rename == nil {
		rename = map[string]string{}
	}
	return dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
		"indexByName":   index,
		"renameByName":  rename,
		"excludeByName": map[string]bool{},
	}}
}

func latencyLabels() map[string]string {
	out := map[string]string{}
	for _, b := range LatencyBuckets {
		if b == "le_inf" {
			out[b] = "> 5000"
		} else {
			out[b] = "≤ " + strings.TrimPrefix(b, "le_")
		}
	}
	return out
}

// numberStat shows one number. Only numeric fields are reduced (reduceOptions.fields ""), so
// the "" string field the plugin returns for an absent key is ignored and the panel says
// "No data".
func numberStat(title, desc, unit string, span uint32, targets ...cog.Builder[variants.Dataquery]) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(Datasource()).
		NoValue(NoData).
		Unit(unit).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("").Values(false)).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeValue).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdFixed).FixedColor(statColor(unit))).
		TextMode(common.BigValueTextModeValue).
		JustifyMode(common.BigValueJustifyModeCenter).
		Orientation(common.VizOrientationAuto).
		Height(4).Span(span)
	if unit == "none" {
		p.Decimals(0)
	}
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

// brokerStat compares one field of broker:kafka and broker:rabbitmq: one HGET per broker.
func brokerStat(title, desc, field, unit string) *stat.PanelBuilder {
	p := numberStat(title, desc, unit, 6).TextMode(common.BigValueTextModeValueAndName)
	for i, br := range Brokers {
		ref := string(rune('A' + i))
		p.WithTarget(HGet(ref, "broker:"+br, field))
		p.OverrideByQuery(ref, []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: brokerLabel(br)},
			{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": brokerColor(br)}},
		})
	}
	return p
}

func statColor(unit string) string {
	switch unit {
	case "celsius":
		return "orange"
	case "percent":
		return "blue"
	}
	return "green"
}

func brokerColor(b string) string {
	if b == "kafka" {
		return "purple"
	}
	return "orange"
}

func brokerLabel(b string) string {
	switch b {
	case "kafka":
		return "Kafka"
	case "rabbitmq":
		return "RabbitMQ"
	}
	return b
}

// textStat shows a string hash field. The plugin returns "" for an absent key (a string
// field with one empty row); filterByValue drops that row so the stat has nothing to reduce
// and shows "No data" instead of an empty value.
func textStat(title, desc, key, field string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(Datasource()).
		WithTarget(HGet("A", key, field)).
		NoValue(NoData).
		WithTransformation(dropEmpty(field)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("/^" + field + "$/").Values(false)).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeNone).
		TextMode(common.BigValueTextModeValue).
		JustifyMode(common.BigValueJustifyModeCenter).
		Orientation(common.VizOrientationAuto).
		Height(5).Span(5)
}

// dropEmpty keeps only the rows where field is not empty (Grafana's filterByValue with the
// "regex" value matcher).
func dropEmpty(field string) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "filterByValue", Options: map[string]any{
		"type":  "include",
		"match": "all",
		"filters": []map[string]any{{
			"fieldName": field,
			"config":    map[string]any{"id": "regex", "options": map[string]any{"value": ".+"}},
		}},
	}}
}

func strOrMap(s string) dashboard.StringOrMap { return dashboard.StringOrMap{String: &s} }

func option(v string, selected bool) dashboard.VariableOption {
	return dashboard.VariableOption{
		Selected: &selected,
		Text:     dashboard.StringOrArrayOfString{String: ptr(v)},
		Value:    dashboard.StringOrArrayOfString{String: ptr(v)},
	}
}

func municipalityOptions(selected string) []dashboard.VariableOption {
	out := make([]dashboard.VariableOption, 0, len(Municipalities))
	for _, m := range Municipalities {
		out = append(out, option(m, m == selected))
	}
	return out
}

func ptr[T any](v T) *T { return &v }
