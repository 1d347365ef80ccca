# trend: the gated ratios over the recorded runs, each divided by its
# baseline median (results/baseline/), so the baseline is the line at 1.
# Made by scripts/trend.sh, which writes one block per series: a title line,
# then "run ratio" lines.
if (!exists("datafile")) datafile = 'trend.dat'
if (!exists("outpng")) outpng = 'trend.png'
if (!exists("outsvg")) outsvg = 'trend.svg'
stats datafile using 1 nooutput
nblocks = STATS_blocks
do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1400,800 font "DejaVu Sans,10" noenhanced; set output outpng } \
  else { set terminal svg size 1400,800 font "DejaVu Sans,10" dynamic noenhanced; set output outsvg }
  set title "Gated metrics over the runs, as a ratio to the committed baseline (dashed line: the baseline)\nspeedup and efficiency: higher is better; relative costs: lower is better; CI fails on a significant change past 10%"
  set xlabel "run (in the order of the history file)"
  set ylabel "median / baseline median"
  set grid lc rgb "#dddddd"
  set key outside right top font ",8" maxrows 40
  set yrange [*:*]
  set xtics 1
  set offsets 0.2, 0.2, graph 0.05, graph 0.05
  plot for [i=0:nblocks-1] datafile index i using 1:2 with linespoints pt 7 ps 0.6 title columnheader(1), \
       1 with lines dt 2 lw 2 lc rgb "black" title "baseline"
}
