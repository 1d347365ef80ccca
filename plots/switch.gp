# switch (E9): cost of one switch (half a round trip), log scale.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'" plots/switch.gp
if (!exists("summaryfile")) summaryfile = 'results/switch.summary.csv'
if (!exists("outpng")) outpng = 'switch.png'
if (!exists("outsvg")) outsvg = 'switch.svg'
set datafile separator ','
set datafile missing ''

isrow(m) = (strcol(7) eq m && column(9) > 0)
lab(d) = sprintf("%s %s %s", strcol(2), strcol(3), strcol(6))
col(d) = strcol(2) eq "coroutine" ? 0x2ca02c : (strcol(2) eq "thread" ? 0x1f77b4 : 0xd62728)

set style fill solid 0.85 border -1
set boxwidth 0.7
set logscale y 10
set format y "10^{%T}"
set grid ytics mytics lc rgb "#dddddd"
set xtics rotate by 40 right font ",9" nomirror
set key off
set ylabel "nanoseconds per switch (median; whiskers min-max)"

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1300,800 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1300,800 font "DejaVu Sans,11" dynamic; set output outsvg }
  set title "One switch between two units of work (E9): coroutines switch in user space, threads and processes through the kernel\n{/*0.8 green coroutine, blue thread, red process; same\\_pu: both pinned to one PU; cross\\_pu: a wake-up on another PU; one switch = half a round trip}"
  i = 0
  plot summaryfile using (isrow("ns_per_switch") ? (i = i + 1, i) : NaN):10:(col(0)):xtic(isrow("ns_per_switch") ? lab(0) : "") with boxes lc rgb variable, \
       j = 0, summaryfile using (isrow("ns_per_switch") ? (j = j + 1, j) : NaN):10:13:14 with yerrorbars lc rgb "black" pt -1, \
       k = 0, summaryfile using (isrow("ns_per_switch") ? (k = k + 1, k) : NaN):(column(10) * 1.5):(sprintf("%.3g ns", column(10))) with labels font ",8"
}
