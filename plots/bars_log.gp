# Shared by spawn.gp and switch.gp: one log-scale bar per summary row of the
# metric `metric` (median, whiskers min to max, the value written above),
# labelled by labelof(0) and coloured by colorof(0), in file order.
# The caller sets summaryfile, metric, labelof, colorof, the terminal, the
# title and the y label, then `load`s this file.
# Summary columns: 1 experiment 2 executor 3 workload 4 workers 5 tasks 6 pin
# 7 metric 8 unit 9 n 10 median 11 mean 12 stddev 13 min 14 max ...
set datafile separator ','
set datafile missing ''
isrow(x) = (strcol(7) eq metric && column(9) > 0)

# Nothing to draw (a subset run, or every configuration failed): a panel
# that says so, not a gnuplot error.
nbars = int(system(sprintf("awk -F, 'NR > 1 && $7 == \"%s\" && $9 > 0' '%s' | wc -l", metric, summaryfile)))
if (nbars == 0) {
  set label 99 sprintf("no %s rows with an ok sample in this run (a subset, or see the CSV's status column)", metric) at graph 0.5, graph 0.5 center
  set xrange [0:1]
  set yrange [0:1]
  unset xtics
  unset ytics
  plot 2 notitle lc rgb "white"
  unset label 99
} else {
# Keep only the rows to draw, so positions, tics and autoscaling see nothing
# else.
set table $rows separator comma
plot summaryfile using 10:13:14:(labelof(0)):(colorof(0)) with table if (isrow(0))
unset table

set style fill solid 0.85 border -1
set boxwidth 0.7
set logscale y 10
set grid ytics mytics lc rgb "#dddddd"
set key off
set xtics rotate by 35 right font ",9" nomirror
set offsets 0.6, 0.6, 0, 0
plot $rows using 0:1:5:xtic(4) with boxes lc rgb variable, \
     $rows using 0:1:2:3 with yerrorbars lc rgb "black" ps 0, \
     $rows using 0:($3 * 1.35):(sprintf("%.3g", $1)) with labels font ",8"
}
