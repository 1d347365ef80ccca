# collect: result() right after submit makes a pool serial (tutorials 000, 004).
# Called by the harness as
#   gnuplot -e "rawfile='..'; summaryfile='..'; outpng='..'; outsvg='..'" plots/collect.gp
# Bars: per executor, the median wall time of submitting every task then
# collecting (light) and of submitting and waiting for each (dark), min-max
# whiskers; the label over each pair is the second over the first, beside
# the tutorial's 5x (20 tasks of 2 s on 5 workers: 40 s against 8 s).
if (!exists("summaryfile")) summaryfile = 'results/collect.summary.csv'
if (!exists("outpng")) outpng = 'collect.png'
if (!exists("outsvg")) outsvg = 'collect.svg'

set datafile separator ','
set datafile missing ''

execs = system(sprintf("awk -F, 'NR > 1 && $7 == \"wall_s\" && $9 > 0 && !seen[$2]++ { printf \"%%s \", $2 }' '%s'", summaryfile))
ne = words(execs)
if (ne == 0) { execs = "none"; ne = 1 }
sel(e, w) = sprintf("< awk -F, '$2 == \"%s\" && $3 == \"%s\" && $7 == \"wall_s\" && $9 > 0 { print $10 \",\" $13 \",\" $14 }' '%s'", e, w, summaryfile)
med(e, w) = real(system(sprintf("awk -F, '$2 == \"%s\" && $3 == \"%s\" && $7 == \"wall_s\" && $9 > 0 { v = $10 } END { print (v == \"\" ? \"NaN\" : v) }' '%s'", e, w, summaryfile)))
col(e, w) = (e[1:3] eq "py_") ? (w eq "submit_all" ? "#98df8a" : "#2ca02c") : (w eq "submit_all" ? "#9ecae1" : "#1f77b4")
ymax = 0
do for [k=1:ne] { v = med(word(execs, k), "submit_wait"); if (v == v && v > ymax) { ymax = v } }
do for [k=1:ne] { v = med(word(execs, k), "submit_all"); if (v == v && v > ymax) { ymax = v } }
if (ymax <= 0) { ymax = 1 }

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1200, 700 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1200, 700 font "DejaVu Sans,11" dynamic; set output outsvg }
  set title "result() right after submit makes a pool serial (tutorials 000, 004)\n{/*0.8 light: submit every task, then collect; dark: submit one, wait for its result, then the next; blue: C, green: CPython}\n{/*0.8 the tutorial: 20 tasks of time.sleep(2) on ThreadPoolExecutor(5): 8 s against 40 s, 5x}" enhanced
  set style fill solid 0.85 border -1
  set boxwidth 0.35
  set xrange [0.4:ne + 0.6]
  set yrange [0:ymax * 1.25]
  set ylabel "wall time of the tasks (s), median and min-max"
  set xtics () noenhanced
  do for [k=1:ne] { set xtics add (word(execs, k) k) }
  unset key
  unset label
  do for [k=1:ne] {
    a = med(word(execs, k), "submit_all"); w = med(word(execs, k), "submit_wait")
    if (a == a && w == w && a > 0) { set label k sprintf("%.2fx", w / a) at k, (w > a ? w : a) * 1.08 center font ",11" noenhanced }
  }
  cmd = ""
  do for [k=1:ne] {
    do for [wi=1:2] {
      w = word("submit_all submit_wait", wi); e = word(execs, k); v = med(e, w)
      if (v == v) {
        cmd = cmd . (cmd eq "" ? "" : ", ") . sprintf("sel('%s', '%s') using (%g):1 with boxes lc rgb '%s', sel('%s', '%s') using (%g):1:2:3 with yerrorbars lc rgb 'black' pt 0", e, w, k + (wi == 1 ? -0.18 : 0.18), col(e, w), e, w, k + (wi == 1 ? -0.18 : 0.18))
      }
    }
  }
  if (cmd eq "") {
    set label 99 "no rows in this run" at graph 0.5, graph 0.5 center
    plot 2 lc rgb "white"
  } else {
    eval("plot " . cmd)
  }
}
