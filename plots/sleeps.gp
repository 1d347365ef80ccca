# sleeps: what explains E2's figure (tutorial 003: threads 2.00 s, processes 3.24 s).
# Called by the harness as
#   gnuplot -e "rawfile='..'; summaryfile='..'; outpng='..'; outsvg='..'" plots/sleeps.gp
# Left: with the same draws in every run (seeded), the wall time of each
# executor (median bar, min-max whisker): the gap between processes and
# threads is their start-up cost. Right: with fresh draws per run
# (independent), how often the longest of the draws was 1, 2 or 3 units,
# per executor, against the theory for 4 draws (1/81, 15/81, 65/81).
if (!exists("summaryfile")) summaryfile = 'results/sleeps.summary.csv'
if (!exists("rawfile")) rawfile = 'results/sleeps.csv'
if (!exists("outpng")) outpng = 'sleeps.png'
if (!exists("outsvg")) outsvg = 'sleeps.svg'

set datafile separator ','
set datafile missing ''

order = "thread process py_thread py_process"
# The executors present (in that order) with seeded and with independent rows.
present(w, m) = system(sprintf("awk -F, -v o='%s' '$3 == \"%s\" && $7 ~ /%s/ && $9 > 0 { p[$2] = 1 } END { n = split(o, a, \" \"); for (i = 1; i <= n; i++) if (a[i] in p) printf \"%%s \", a[i] }' '%s'", order, w, m, summaryfile))
sexecs = present("seeded", "^wall_s$")
iexecs = present("independent", "^longest_is_")
ns = words(sexecs)
ni = words(iexecs)
ecol(e) = e eq "thread" ? "#1f77b4" : (e eq "process" ? "#d62728" : (e eq "py_thread" ? "#2ca02c" : "#ff7f0e"))
seeded(e) = sprintf("< awk -F, '$2 == \"%s\" && $3 == \"seeded\" && $7 == \"wall_s\" && $9 > 0 { print $10 \",\" $13 \",\" $14 }' '%s'", e, summaryfile)
med(e) = real(system(sprintf("awk -F, '$2 == \"%s\" && $3 == \"seeded\" && $7 == \"wall_s\" && $9 > 0 { v = $10 } END { print (v == \"\" ? \"NaN\" : v) }' '%s'", e, summaryfile)))
# The share of runs whose longest draw was 1, 2, 3 units: the means of the
# runs' longest_is_U rows (1 where it was U units, else 0).
share(e) = sprintf("< awk -F, '$2 == \"%s\" && $3 == \"independent\" && $7 ~ /^longest_is_/ && $9 > 0 { print substr($7, 12) \",\" $11 }' '%s' | sort -n", e, summaryfile)
nruns = system(sprintf("awk -F, '$3 == \"independent\" && $7 == \"longest_is_1\" { if ($9 > m) m = $9 } END { print m + 0 }' '%s'", summaryfile))
metafile = summaryfile[1:strlen(summaryfile) - 12] . ".meta"
unit = system(sprintf("awk -F= '$1 == \"unit_ms\" { print $2 }' '%s' 2>/dev/null", metafile))
if (unit eq "") unit = "?"

dc = med("process") - med("thread")
dp = med("py_process") - med("py_thread")
fmtms(v) = (v == v) ? sprintf("%+.1f ms", v * 1e3) : "n/a"

$theory << EOD
1,0.012345679
2,0.185185185
3,0.802469136
EOD

do for [term=1:2] {
  if (term == 1) { set terminal pngcairo size 1400, 800 font "DejaVu Sans,11"; set output outpng } \
  else { set terminal svg size 1400, 800 font "DejaVu Sans,11" dynamic; set output outsvg }
  set multiplot layout 1, 2 margins 0.07, 0.98, 0.16, 0.84 spacing 0.08 title sprintf("E2 explained (tutorial 003: 4 threads 2.00 s, 4 processes 3.24 s, each task sleeping random.randint(1, 3) s)\n{/*0.8 here a unit is %s ms; the tutorial's 1.24 s gap: 1.00 s from its draws (the threads' longest 2 s, the processes' 3 s), the rest start-up}", unit)

  set title sprintf("the same draws in every run: processes over threads = start-up cost\nC %s, CPython %s", fmtms(dc), fmtms(dp))
  set style fill solid 0.8 border -1
  set boxwidth 0.6
  set ylabel "wall time of the run (s), median and min-max"
  unset key
  if (ns == 0) {
    set xrange [0:1]; set yrange [0:1]; set xtics ()
    set label 9 "no seeded rows in this run" at graph 0.5, graph 0.5 center
    plot 2 notitle lc rgb "white"
    unset label 9
  } else {
    set xrange [0.4:ns + 0.6]
    set yrange [0:*]
    set xtics () noenhanced
    do for [k=1:ns] { set xtics add (word(sexecs, k) k) }
    plot for [k=1:ns] seeded(word(sexecs, k)) using (k):1 with boxes lc rgb ecol(word(sexecs, k)) notitle, \
         for [k=1:ns] seeded(word(sexecs, k)) using (k):1:2:3 with yerrorbars lc rgb "black" pt 0 notitle
  }

  set title sprintf("fresh draws in every run: the longest of the 4 draws\n(%s runs per executor; grey: the theory, mean 226/81 = 2.79 units)", nruns)
  set xrange [0.4:3.6]
  set yrange [0:1]
  set xtics ("1 unit" 1, "2 units" 2, "3 units" 3)
  set ylabel "share of runs"
  set boxwidth 0.16
  set key top left font ",10" noenhanced
  if (ni == 0) {
    plot $theory using ($1 - 0.3):2 with boxes lc rgb "#bbbbbb" title "theory (no runs of fresh draws here)"
  } else {
    plot $theory using ($1 - 0.3):2 with boxes lc rgb "#bbbbbb" title "theory", \
         for [k=1:ni] share(word(iexecs, k)) using ($1 - 0.3 + 0.15 * k):2 with boxes lc rgb ecol(word(iexecs, k)) title word(iexecs, k)
  }
  unset multiplot
}
