# sync (E4, E5, E6, E12): locks, races, semaphores and queues, four panels.
# gnuplot -e "summaryfile='..'; outpng='..'; outsvg='..'" plots/sync.gp
if (!exists("summaryfile")) summaryfile = 'results/sync.summary.csv'
if (!exists("outpng")) outpng = 'sync.png'
if (!exists("outsvg")) outsvg = 'sync.svg'
set datafile separator ','
set datafile missing ''

# Each panel reads only its rows, picked by awk (workload and metric, at
# least one ok sample) and sorted by the workloads' order in the pattern,
# then thread, process, py_thread, py_process (CPython beside C), then workers; bars are numbered 0, 1, ... in
# that order, so the k-th wall_s row and the k-th final_counter row of E4
# are the same configuration.
sel(w, m) = sprintf("< awk -F, 'BEGIN { n = split(\"%s\", o, \"|\"); for (i = 1; i <= n; i++) r[o[i]] = i } NR > 1 && ($3 in r) && $7 == \"%s\" && $9 > 0 { print r[$3] \",\" ($2 == \"thread\" ? 0 : ($2 == \"process\" ? 1 : ($2 == \"py_thread\" ? 2 : 3))) \",\" $4 \",\" $0 }' '%s' | sort -t, -k1,1n -k2,2n -k3,3n | cut -d, -f4-", w, m, summaryfile)
# How many rows a panel's selection has: none (a subset run) leaves the
# panel blank instead of a warning.
has(w, m) = int(system(sel(w, m)[3:] . " | wc -l"))
E4 = "no_lock|lock|join|manager_dict"
Q = "fifo|lifo|priority"
wlname(d) = strcol(3) eq "no_lock" ? "no lock" : (strcol(3) eq "join" ? "join" : (strcol(3) eq "manager_dict" ? "Mgr dict" : strcol(3)))
# CPython's rows (py_*) are the lighter shade of the C rows' colour.
ispy(d) = strcol(2)[1:3] eq "py_"
col4(d) = strcol(3) eq "no_lock" ? (ispy(0) ? 0xffbb78 : 0xff7f0e) : (strcol(3) eq "lock" ? (ispy(0) ? 0x98df8a : 0x2ca02c) : (strcol(3) eq "join" ? (ispy(0) ? 0xc7c7c7 : 0x7f7f7f) : 0xc5b0d5))
colu(d) = strcol(2) eq "thread" ? 0x1f77b4 : (strcol(2) eq "process" ? 0xd62728 : (strcol(2) eq "py_thread" ? 0xaec7e8 : 0xff9896))
colq(d) = ispy(0) ? 0x9edae5 : 0x17becf
# Short executor names for E4's many bars.
exname(d) = strcol(2) eq "thread" ? "thread" : (strcol(2) eq "process" ? "proc" : (strcol(2) eq "py_thread" ? "py thr" : "py proc"))

set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set key off
set xtics nomirror font ",9" noenhanced
set bmargin 4

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1500,1000 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1500,1000 font "DejaVu Sans,11" dynamic; set output outsvg }
  set multiplot layout 2,2 title "Synchronisation (E4, E5, E6, E12): what a lock, a race, a semaphore and a queue do (E5, E6: threads blue, processes red; CPython's rows lighter)"

  # E4: time per variant, and the final counter printed in each bar.
  set title "E4: 100 tasks decrement a counter of 100 (each reads, waits, writes)\n{/*0.8 orange: no lock (fast, wrong), green: lock, grey: start then join each task, lighter: CPython, purple: Manager().dict(), 50 processes}\n{/*0.8 bar label: updates lost (0 is right); the tutorials lost 99 of 100 without a lock}"
  set logscale y 10
  set ylabel "seconds (median; whiskers min-max)"
  set yrange [0.005:*]
    if (has(E4, "wall_s") == 0) { set multiplot next } else {
    plot sel(E4, "wall_s") using 0:10:(col4(0)):xtic(sprintf("%s\n%s", exname(0), wlname(0))) with boxes lc rgb variable, \
       sel(E4, "wall_s") using 0:10:13:14 with yerrorbars lc rgb "black" pt -1, \
       sel(E4, "lost_updates") using 0:(0.008):(sprintf("%.0f", column(10))) with labels font ",10" tc rgb "white"
    }
  unset logscale y
  set yrange [*:*]

  # E5: share of updates lost in the race.
  set title "E5: a data race loses updates (read, then write, no lock, no waiting)\n{/*0.8 bar: median share of the increments lost; whiskers min-max over the repetitions}"
  set ylabel "updates lost (%)"
  set yrange [0:105]
    if (has("race", "lost_pct") == 0) { set multiplot next } else {
    plot sel("race", "lost_pct") using 0:10:(colu(0)):xtic(sprintf("%s workers\n%s", strcol(4), strcol(2))) with boxes lc rgb variable, \
       sel("race", "lost_pct") using 0:10:13:14 with yerrorbars lc rgb "black" pt -1, \
       sel("race", "lost_pct") using 0:(column(10) + 6):(sprintf("%.1f%%", column(10))) with labels font ",10"
    }
  set yrange [*:*]

  # E6: measured peak inside the semaphore against its permits.
  set title "E6: Semaphore(5), 23 tasks: never more than 5 inside\n{/*0.8 bar: most tasks inside at once (max over repetitions); dashed: the permits; label: time in holds, ceil(23/5) = 5 waves expected}"
  set ylabel "tasks inside at once"
  set yrange [0:8]
    if (has("semaphore", "peak_concurrency") == 0) { set multiplot next } else {
    plot sel("semaphore", "peak_concurrency") using 0:14:(colu(0)):xtic(strcol(2)) with boxes lc rgb variable, \
       sel("semaphore", "peak_concurrency") using ($0 - 0.45):(column(4)):(0.9):(0) with vectors nohead dt 2 lw 2 lc rgb "black", \
       sel("semaphore", "waves") using 0:(6.5):(sprintf("%.2f holds", column(10))) with labels font ",10"
    }
  set yrange [*:*]

  # E12: queue throughput, with the order check in each bar.
  set title "E12: bounded queues between producers and consumers (threads; lighter: CPython's queue)\n{/*0.8 bar: items per second (median; whiskers min-max); label: deliveries out of the queue's order (must be 0)}"
  set ylabel "items per second"
  set logscale y 10
  set format y "%.1s%c"
    if (has(Q, "items_per_s") == 0) { set multiplot next } else {
    plot sel(Q, "items_per_s") using 0:10:(colq(0)):xtic(sprintf("%s\n%sP / %sC", ispy(0) ? (strcol(3) eq "priority" ? "py prio" : "py " . strcol(3)) : strcol(3), strcol(4), strcol(4))) with boxes lc rgb variable, \
       sel(Q, "items_per_s") using 0:10:13:14 with yerrorbars lc rgb "black" pt -1, \
       sel(Q, "order_errors") using 0:(12000):(sprintf("%.0f err", column(14))) with labels offset 0,1 font ",9" tc rgb "white"
    }
  unset logscale y
  set yrange [*:*]
  set format y "%g"
  unset multiplot
}
