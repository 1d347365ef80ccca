# pool_callbacks (E8): where pools run completion callbacks, two panels.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'" plots/pool_callbacks.gp
if (!exists("summaryfile")) summaryfile = 'results/pool_callbacks.summary.csv'
if (!exists("outpng")) outpng = 'pool_callbacks.png'
if (!exists("outsvg")) outsvg = 'pool_callbacks.svg'
set datafile separator ','
set datafile missing ''

# The rows of one workload and metric (at least one ok sample), thread_pool
# first, then by workers: bar k of a panel is the k-th row.
sel(w, m) = sprintf("< awk -F, 'NR > 1 && $3 == \"%s\" && $7 == \"%s\" && $9 > 0 { print ($2 == \"thread_pool\" ? 0 : 1) \",\" $4 \",\" $0 }' '%s' | sort -t, -k1,1n -k2,2n | cut -d, -f3-", w, m, summaryfile)
has(w, m) = int(system(sel(w, m)[3:] . " | wc -l"))
col(d) = strcol(2) eq "thread_pool" ? 0x1f77b4 : 0xd62728
lab(d) = sprintf("%s\n%s workers", strcol(2), strcol(4))

set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set key off
set xtics nomirror noenhanced font ",10"
set bmargin 4
set yrange [0:*]

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1400,650 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1400,650 font "DejaVu Sans,11" dynamic; set output outsvg }
  set multiplot layout 1,2 title "Pool completion callbacks (E8): a thread pool runs them in its workers (blue), a process pool one at a time in the parent (red)"

  set title "2 tasks, each with a slow callback\n{/*0.8 tutorials (10 s each): 20 s on a thread pool, 30 s on a process pool}\n{/*0.8 left: the whole run; right: first finished task to last callback (median, whiskers min-max)}"
  set ylabel "seconds"
  set xtics ()
  set label 1 "whole run" at first 0.5, graph 0.95 center
  set label 2 "callbacks" at first 3.5, graph 0.95 center
  if (has("callbacks", "wall_s") == 0) { set multiplot next } else {
  plot sel("callbacks", "wall_s") using 0:10:(col(0)):xtic(lab(0)) with boxes lc rgb variable, \
       sel("callbacks", "wall_s") using 0:10:13:14 with yerrorbars lc rgb "black" pt -1, \
       sel("callbacks", "wall_s") using 0:(column(10)):(sprintf("%.3f s", column(10))) with labels offset 0,1 font ",10", \
       sel("callbacks", "callbacks_s") using ($0 + 3):10:(col(0)):xtic(lab(0)) with boxes lc rgb variable, \
       sel("callbacks", "callbacks_s") using ($0 + 3):10:13:14 with yerrorbars lc rgb "black" pt -1, \
       sel("callbacks", "callbacks_s") using ($0 + 3):(column(10)):(sprintf("%.3f s", column(10))) with labels offset 0,1 font ",10"
  }
  unset label 1
  unset label 2

  set title "One callback blocks: how long the other finished tasks wait for theirs\n{/*0.8 longest wait from a task's end to its callback's start, over the other tasks (median, whiskers min-max)}"
  set ylabel "seconds"
  if (has("blocked_callback", "result_wait_s") == 0) { set multiplot next } else {
  plot sel("blocked_callback", "result_wait_s") using 0:10:(col(0)):xtic(lab(0)) with boxes lc rgb variable, \
       sel("blocked_callback", "result_wait_s") using 0:10:13:14 with yerrorbars lc rgb "black" pt -1, \
       sel("blocked_callback", "result_wait_s") using 0:(column(10)):(sprintf("%.3f s", column(10))) with labels offset 0,1 font ",10"
  }
  unset multiplot
}
