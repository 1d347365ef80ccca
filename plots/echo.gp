# echo (E10/E11): throughput and p99 latency vs connections, one line per
# server model, log x. Points are medians, whiskers min-max over the
# repetitions; a model missing at a connection count did not serve it (see
# the status column of echo.csv).
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'" plots/echo.gp
if (!exists("summaryfile")) summaryfile = 'results/echo.summary.csv'
if (!exists("outpng")) outpng = 'echo.png'
if (!exists("outsvg")) outsvg = 'echo.svg'
set datafile separator ','
set datafile missing ''

# The server models in the summary's order (the harness's registry order):
# the C ones (and external) solid, the CPython ones (py_*) dashed in greys
# and teals of their own; colours and point types by position, repeating
# past the palette.
models = system(sprintf("awk -F, 'NR > 1 && $2 !~ /^py_/ && !seen[$2]++ { printf \"%%s \", $2 }' '%s'", summaryfile))
pymodels = system(sprintf("awk -F, 'NR > 1 && $2 ~ /^py_/ && !seen[$2]++ { printf \"%%s \", $2 }' '%s'", summaryfile))
colors = "0x1f77b4 0x9467bd 0xd62728 0xff7f0e 0x2ca02c 0x8c564b 0xe377c2 0x7f7f7f 0xbcbd22 0x17becf"
pycolors = "0x004d40 0x00897b 0x4db6ac 0x37474f 0x90a4ae"
pts = "7 5 9 11 13 15 4 6 8 10"
pypts = "6 4 8 10 12"
nth(list, i) = word(list, (i - 1) % words(list) + 1)
# The rows of one model and metric with at least one ok sample, in the
# order of connection counts, through awk and sort: the summary
# holds one row per metric, and rows filtered out inside `using` would break
# the lines.
rows(m, metric) = sprintf("< awk -F, '$2 == \"%s\" && $7 == \"%s\" && $9 > 0' '%s' | sort -t, -k5,5n", m, metric, summaryfile)

# One plot command over both groups, either of which may be empty (a run of
# --no-python, or of py_* alone): built as a string, each group's clause
# only when it has rows.
cclause = "for [i=1:words(models)] rows(word(models, i), metric) using 5:10:13:14 with yerrorlines lc rgb nth(colors, i) pt int(nth(pts, i)) lw 2 title word(models, i) noenhanced"
pyclause = "for [i=1:words(pymodels)] rows(word(pymodels, i), metric) using 5:10:13:14 with yerrorlines lc rgb nth(pycolors, i) pt int(nth(pypts, i)) lw 2 dt 2 title word(pymodels, i) noenhanced"
plotcmd = "plot " . (words(models) > 0 ? cclause : "") . (words(models) > 0 && words(pymodels) > 0 ? ", " : "") . (words(pymodels) > 0 ? pyclause : "")

set logscale x 10
set xrange [0.7:1500]
set xlabel "concurrent connections (closed loop, one request in flight each)"
set grid xtics ytics mytics lc rgb "#dddddd"
set key outside right top font ",10"

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1400,650 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1400,650 font "DejaVu Sans,11" dynamic; set output outsvg }
  set multiplot layout 1,2 title "TCP echo on loopback (E10/E11): each server model under C closed-loop connections\n{/*0.8 medians, whiskers min-max; dashed: CPython servers (py\\_*); a missing point: that model did not serve every connection}"
  set title "throughput"
  set ylabel "requests per second"
  set logscale y 10
  set format y "10^{%T}"
  metric = "req_per_s"
  eval plotcmd
  set title "99th percentile latency"
  set ylabel "p99 latency (microseconds)"
  metric = "p99_us"
  eval plotcmd
  unset multiplot
}
