# work: your own workloads (concbench.h, --command, --py-task) on every
# model. Called by the harness as
#   gnuplot -e "rawfile='..'; summaryfile='..'; outpng='..'; outsvg='..'" plots/work.gp
# One column per workload found in the summary (its wall time per executor
# on top, its speedup over serial below); executor and workload names come
# from the file. Summary columns:
#   1 experiment 2 executor 3 workload 4 workers 5 tasks 6 pin 7 metric 8 unit 9 n
#   10 median 11 mean 12 stddev 13 min 14 max 15 ci95_lo 16 ci95_hi 17 cv
if (!exists("summaryfile")) summaryfile = 'results/work.summary.csv'
if (!exists("outpng")) outpng = 'work.png'
if (!exists("outsvg")) outsvg = 'work.svg'

set datafile separator ','
set datafile missing ''

execs = system(sprintf("awk -F, 'NR > 1 && $7 == \"wall_s\" && !seen[$2]++ { printf \"%%s \", $2 }' '%s'", summaryfile))
wls = system(sprintf("awk -F, 'NR > 1 && $7 == \"wall_s\" && !seen[$3]++ { printf \"%%s \", $3 }' '%s'", summaryfile))
nexec = words(execs)
nwl = words(wls)
if (nwl < 1) { nwl = 1 }
pos(e) = sum [k=1:nexec] (word(execs, k) eq e ? k : 0)
family(e) = (e[1:3] eq "py_") ? 3 : (strstrt(e, "+gil") > 0 ? 2 : 1)
famcolor(f) = (f == 1) ? 0x1f77b4 : ((f == 2) ? 0xff7f0e : 0x2ca02c)
sel(wl, met) = (strcol(3) eq wl && strcol(7) eq met && column(9) > 0)
v(c, wl, met) = sel(wl, met) ? column(c) : NaN
hasrows(wl, met) = int(system(sprintf("awk -F, 'NR > 1 && $3 == \"%s\" && $7 == \"%s\" && $9 > 0' '%s' | wc -l", wl, met, summaryfile)))

set xtics () rotate by 35 right font ",9" nomirror
do for [k=1:nexec] { set xtics add (word(execs, k) k) }
set xrange [0.4:(nexec > 0 ? nexec : 1) + 0.6]
set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set key off

width = 300 + 520 * nwl
if (width < 1150) { width = 1150 }
do for [term=1:2] {
if (term == 1) { set terminal pngcairo size width,950 font "DejaVu Sans,11" noenhanced; set output outpng } \
else { set terminal svg size width,950 font "DejaVu Sans,11" dynamic noenhanced; set output outsvg }

set multiplot layout 2,nwl columnsfirst title "Your work on every model of this machine\nblue: C    orange: C with an emulated interpreter lock (+gil)    green: CPython (py_*)\nbars: median of the repetitions, whiskers: min to max" font ",12"
do for [i=1:nwl] {
  wl = word(wls, i)
  set title sprintf("%s: wall time of all tasks (lower is better)", wl)
  set ylabel "seconds"
  set yrange [0:*]
  if (hasrows(wl, "wall_s") == 0) { set multiplot next } else {
  plot summaryfile using (sel(wl, "wall_s") ? pos(strcol(2)) : NaN):(v(10, wl, "wall_s")):(famcolor(family(strcol(2)))) with boxes lc rgb variable, \
       summaryfile using (sel(wl, "wall_s") ? pos(strcol(2)) : NaN):(v(10, wl, "wall_s")):(v(13, wl, "wall_s")):(v(14, wl, "wall_s")) with yerrorbars lc rgb "black" ps 0
  }
  set title sprintf("%s: speedup over serial (higher is better; dashed: 1 = no gain)", wl)
  set ylabel "speedup"
  if (hasrows(wl, "speedup") == 0) { set multiplot next } else {
  plot summaryfile using (sel(wl, "speedup") ? pos(strcol(2)) : NaN):(v(10, wl, "speedup")):(famcolor(family(strcol(2)))) with boxes lc rgb variable, \
       summaryfile using (sel(wl, "speedup") ? pos(strcol(2)) : NaN):(v(10, wl, "speedup")):(v(13, wl, "speedup")):(v(14, wl, "speedup")) with yerrorbars lc rgb "black" ps 0, \
       1 with lines dt 2 lc rgb "#888888"
  }
}
unset multiplot
}
