# Medians over the rounds of bench/models_speed.sh's output: after each
# "== round R: MODEL" header come that model's measurement lines; every
# decimal of a line is replaced, position by position, by its median over
# the rounds (lines match when they differ in their decimals only).
/^== round / { m = $4; if (!(m in seen)) { seen[m] = 1; models[++nm] = m }; next }
{
  key = $0; gsub(/[0-9]+\.[0-9]+/, "#", key); k = m SUBSEP key
  if (!(k in rounds)) { order[m, ++nk[m]] = key; rounds[k] = 0 }
  r = ++rounds[k]; p = 0; rest = $0
  while (match(rest, /[0-9]+\.[0-9]+/)) {
    v[k, ++p, r] = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
  }
}
END {
  for (i = 1; i <= nm; i++) {
    m = models[i]; print "== " m ": medians of the rounds"
    for (j = 1; j <= nk[m]; j++) {
      key = order[m, j]; k = m SUBSEP key; c = rounds[k]; out = ""; p = 0; rest = key
      while ((s = index(rest, "#")) > 0) {
        p++
        for (a = 1; a <= c; a++) w[a] = v[k, p, a]
        for (a = 2; a <= c; a++)
          for (b = a; b > 1 && w[b - 1] + 0 > w[b] + 0; b--) { t = w[b]; w[b] = w[b - 1]; w[b - 1] = t }
        out = out substr(rest, 1, s - 1) w[int((c + 1) / 2)]; rest = substr(rest, s + 1)
      }
      print out rest
    }
  }
}
