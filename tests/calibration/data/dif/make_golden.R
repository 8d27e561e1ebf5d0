# Golden Mantel-Haenszel values from base R's stats::mantelhaen.test (R 4.2.2).
#
# 1. table_golden.csv: one hand-made 2 x 2 x 4 table (below).
# 2. items_golden.csv: every item of responses.csv, reference "R" vs focal "F", matched on
#    the total score over all 8 items (the studied item included), one stratum per score.
# mantelhaen.test's 2 x 2 x K form gives the continuity-corrected MH chi-square, the MH
# common odds ratio and its Robins-Breslow-Greenland 95 % interval, from which the SE of
# log(alpha) is (log upper - log lower) / (2 * qnorm(0.975)).
# Run from this directory: Rscript make_golden.R
summarise <- function(tab) {
  t <- mantelhaen.test(tab, correct = TRUE)
  se <- (log(t$conf.int[2]) - log(t$conf.int[1])) / (2 * qnorm(0.975))
  c(alpha = unname(t$estimate), chi2 = unname(t$statistic), p = t$p.value, se_log = se)
}
# rows: group (reference, focal); columns: (right, wrong); layers: strata
tab <- array(c(30, 10, 20, 15,
               25, 25, 18, 30,
               12, 30, 8, 35,
               40, 5, 30, 12),
             dim = c(2, 2, 4))
# array fills columns first: tab[, , k] = [[A, B], [C, D]] with A = ref right, C = focal right
one <- summarise(tab)
write.csv(data.frame(t(one)), "table_golden.csv", row.names = FALSE)

d <- read.csv("responses.csv", stringsAsFactors = FALSE)
items <- grep("^i[0-9]+$", names(d), value = TRUE)
total <- rowSums(d[, items])
rows <- lapply(items, function(it) {
  x <- d[[it]]
  g <- factor(d$group, levels = c("R", "F"))
  score <- factor(total)
  tab <- table(g, factor(x, levels = c(1, 0)), score)
  keep <- apply(tab, 3, function(s) sum(s[1, ]) > 0 && sum(s[2, ]) > 0 && sum(s) > 1)
  c(item_id = it, summarise(tab[, , keep, drop = FALSE]))
})
write.csv(do.call(rbind, rows), "items_golden.csv", row.names = FALSE)
