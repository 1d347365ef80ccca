# spawn (E3): cost of starting and finishing one unit of work, log scale.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'" plots/spawn.gp
if (!exists("summaryfile")) summaryfile = 'results/spawn.summary.csv'
if (!exists("outpng")) outpng = 'spawn.png'
if (!exists("outsvg")) outsvg = 'spawn.svg'
set datafile separator ','
set datafile missing ''

# One bar per (executor, mechanism, pin) row of us_per_spawn; pinned rows
# blue, unpinned rows grey. x positions are handed out in file order.
isrow(m) = (strcol(7) eq m && column(9) > 0)
lab(d) = sprintf("%s %s%s", strcol(2), strcol(3), strcol(6) eq "none" ? " (unpinned)" : "")
col(d) = strcol(6) eq "none" ? 0x999999 : 0x1f77b4

set style fill solid 0.85 border -1
set boxwidth 0.7
set logscale y 10
set format y "10^{%T}"
set grid ytics mytics lc rgb "#dddddd"
set xtics rotate by 40 right font ",9" nomirror
set key off
set ylabel "microseconds per start + finish (median; whiskers min-max)"

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1400,800 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1400,800 font "DejaVu Sans,11" dynamic; set output outsvg }
  set title "Starting one unit of work (E3): the tutorials say a thread starts tens to hundreds of times faster than a process\n{/*0.8 raw = the bare system call; thread, process, coroutine, pools = through the harness's executors; blue pinned, grey unpinned}"
  i = 0
  plot summaryfile using (isrow("us_per_spawn") ? (i = i + 1, i) : NaN):10:(col(0)):xtic(isrow("us_per_spawn") ? lab(0) : "") with boxes lc rgb variable, \
       j = 0, summaryfile using (isrow("us_per_spawn") ? (j = j + 1, j) : NaN):10:13:14 with yerrorbars lc rgb "black" pt -1, \
       k = 0, summaryfile using (isrow("us_per_spawn") ? (k = k + 1, k) : NaN):(column(10) * 1.5):(sprintf("%.3g", column(10))) with labels font ",8"
}
