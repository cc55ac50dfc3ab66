"""The HTML report's inline stylesheet and script (no libraries, no network, no fonts).

The script reads the audit from the page's JSON blob and builds every element with
createElement / textContent: data is never parsed as markup and nothing is evaluated.
"""

CSS = r"""
:root {
  --fg: #1d2733; --muted: #5b6773; --line: #d9dee4; --bg: #f5f7fa; --card: #ffffff;
  --accent: #a8201a; --error: #c0392b; --warning: #c27c0e; --info: #2e86c1;
  --A: #2e8b57; --B: #c9a227; --C: #c0392b; --none: #8795a1;
  font-family: system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
    "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "Droid Sans Fallback", "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg); font-size: 14px; line-height: 1.5;
}
* { box-sizing: border-box; }
body { margin: 0; }
header.top { background: var(--accent); color: #fff; padding: 14px 24px; display: flex;
  align-items: center; gap: 16px; flex-wrap: wrap; }
header.top h1 { font-size: 20px; margin: 0; font-weight: 600; letter-spacing: .04em; }
header.top .meta { opacity: .9; font-size: 13px; }
header.top .spacer { flex: 1; }
button { font: inherit; cursor: pointer; }
button.lang { background: #fff; color: var(--accent); border: 0; border-radius: 4px;
  padding: 4px 12px; font-weight: 600; }
main { padding: 16px 24px 40px; max-width: 1400px; margin: 0 auto; }
section { margin: 18px 0; }
h2 { font-size: 17px; margin: 0 0 10px; border-left: 4px solid var(--accent); padding-left: 8px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .v { font-size: 24px; font-weight: 700; }
.card .k { color: var(--muted); font-size: 12px; }
.card.error .v { color: var(--error); } .card.warning .v { color: var(--warning); }
.card.info .v { color: var(--info); }
.charts { display: flex; gap: 14px; flex-wrap: wrap; align-items: flex-start; }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px;
  flex: 1 1 380px; min-width: 320px; }
.chart svg { display: block; width: 100%; height: auto; }
.chart svg text { font-size: 12px; fill: var(--fg); font-family: inherit; }
.chart svg .bar { cursor: pointer; }
.chart svg .bar:hover rect { opacity: .8; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.controls { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin-bottom: 8px; }
.controls input, .controls select { font: inherit; padding: 5px 8px; border: 1px solid var(--line);
  border-radius: 4px; background: #fff; }
.controls input { min-width: 260px; flex: 1 1 260px; }
.count { color: var(--muted); }
.tablewrap { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  max-height: 70vh; overflow: auto; }
table { border-collapse: collapse; width: 100%; }
table.units { table-layout: fixed; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { position: sticky; top: 0; background: #eef1f5; z-index: 1; }
th button { background: none; border: 0; padding: 0; font-weight: 600; color: var(--fg); }
th[aria-sort="ascending"] button::after { content: " ▲"; font-size: 10px; }
th[aria-sort="descending"] button::after { content: " ▼"; font-size: 10px; }
table.units tbody tr.u { cursor: pointer; }
table.units tbody tr.u:hover, table.units tbody tr.u:focus { background: #fdf3e7; outline: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.units td { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.units tr.spacer td { padding: 0; border: 0; }
.grade { display: inline-block; min-width: 22px; text-align: center; border-radius: 3px; color: #fff;
  font-weight: 700; padding: 0 4px; background: var(--none); }
.grade.A { background: var(--A); } .grade.B { background: var(--B); } .grade.C { background: var(--C); }
.sev { display: inline-block; border-radius: 3px; color: #fff; padding: 0 6px; font-size: 12px; }
.sev.error { background: var(--error); } .sev.warning { background: var(--warning); }
.sev.info { background: var(--info); }
.tag { display: inline-block; border: 1px solid var(--line); border-radius: 3px; padding: 0 5px;
  font-size: 12px; margin-left: 4px; color: var(--muted); }
.tag.new { border-color: var(--error); color: var(--error); }
.tag.waived { border-color: var(--info); color: var(--info); }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 12px; }
dialog { width: min(1100px, 96vw); max-height: 92vh; border: 0; border-radius: 8px; padding: 0;
  box-shadow: 0 10px 40px rgba(0,0,0,.35); }
dialog::backdrop { background: rgba(20, 30, 40, .45); }
dialog .head { position: sticky; top: 0; background: var(--accent); color: #fff; padding: 10px 16px;
  display: flex; align-items: center; gap: 12px; z-index: 2; }
dialog .head h2 { border: 0; padding: 0; margin: 0; color: #fff; flex: 1; }
dialog .head button { background: #fff; color: var(--accent); border: 0; border-radius: 4px; padding: 3px 10px; }
dialog .body { padding: 8px 16px 16px; }
table.bd td { padding: 3px 8px; }
table.bd tr.l1 td { font-weight: 700; background: #f1f3f6; }
table.bd tr.l2 td:first-child { padding-left: 22px; font-weight: 600; }
table.bd tr.l3 td:first-child { padding-left: 40px; }
.meter { display: inline-block; width: 90px; height: 8px; background: #e5e8ec; border-radius: 4px;
  vertical-align: middle; margin-right: 6px; overflow: hidden; }
.meter i { display: block; height: 100%; background: var(--A); }
.meter i.mid { background: var(--B); } .meter i.low { background: var(--C); }
.finding { border: 1px solid var(--line); border-left: 4px solid var(--info); border-radius: 4px;
  padding: 8px 10px; margin: 8px 0; background: #fff; }
.finding.error { border-left-color: var(--error); } .finding.warning { border-left-color: var(--warning); }
.finding .msg { margin: 4px 0; font-size: 15px; color: #10171f; }
.finding dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 4px 0 0; }
.finding dt { color: var(--muted); } .finding dd { margin: 0; word-break: break-all; }
table.ev { width: auto; margin: 2px 0; } table.ev td { border: 1px solid var(--line); padding: 1px 6px; }
ul.plain { margin: 4px 0; padding-left: 20px; }
footer { color: var(--muted); font-size: 12px; padding: 12px 24px; text-align: center; }
.noscript { padding: 20px; }
@media print {
  header.top button, .controls, dialog { display: none; }
  .tablewrap { max-height: none; overflow: visible; }
  body { background: #fff; }
}
"""

JS = r"""
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('sanding-data').textContent);
  var L = D.lang === 'en' ? 'en' : 'zh';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var T = {
    title: ['三定规则审计报告', 'Three-determinations audit report'],
    dataset: ['数据集', 'Dataset'], asOf: ['截至', 'As of'], model: ['评价模型', 'Model'],
    switchLang: ['English', '中文'],
    summary: ['概况', 'Summary'],
    units: ['单位', 'Units'], people: ['在册人员', 'People'], findings: ['问题', 'Findings'],
    error: ['错误', 'Errors'], warning: ['警告', 'Warnings'], info: ['提示', 'Info'],
    evaluated: ['已评估规则', 'Rules evaluated'], notEvaluated: ['未评估规则', 'Rules not evaluated'],
    newF: ['新增问题', 'New findings'], known: ['基线已知', 'Known (baseline)'],
    waived: ['已豁免', 'Waived'], fixed: ['基线中已整改', 'Baseline fixed'],
    dismissed: ['已驳回', 'Dismissed'],
    grades: ['等次分布', 'Grade distribution'], byRule: ['各规则问题数', 'Findings by rule'],
    bySeverity: ['问题严重程度', 'Findings by severity'],
    ungraded: ['未评等', 'no grade'],
    unitTable: ['单位列表', 'Units'],
    filter: ['按单位代码或名称筛选…', 'Filter by unit id or name…'],
    allGrades: ['全部等次', 'All grades'], allRules: ['全部规则', 'All rules'],
    allStatus: ['全部状态', 'All statuses'],
    stNew: ['有新增问题', 'with new findings'], stKnown: ['有基线已知问题', 'with known findings'],
    stWaived: ['有已豁免问题', 'with waived findings'], stNone: ['无问题', 'without findings'],
    shown: ['显示 {n} / {total} 个单位', 'Showing {n} of {total} units'],
    noMatch: ['没有符合条件的单位', 'No unit matches'],
    colId: ['单位代码', 'Unit'], colName: ['单位名称', 'Name'], colScore: ['得分', 'Score'],
    colGrade: ['等次', 'Grade'], colFindings: ['问题数', 'Findings'], colActions: ['建议措施', 'Actions'],
    close: ['关闭', 'Close'],
    score: ['得分', 'Score'], gradeReason: ['评等理由', 'Grade reason'],
    breakdown: ['得分构成', 'Score breakdown'], indicator: ['指标', 'Indicator'],
    max: ['满分', 'Max'], measured: ['实测值', 'Measured'], peer: ['同类均值', 'Peer average'],
    deductions: ['扣分', 'Deductions'], note: ['备注', 'Note'],
    unitFindings: ['问题清单', 'Findings'], none: ['未发现问题', 'No findings'],
    evidence: ['证据', 'Evidence'], source: ['来源', 'Source'], basis: ['依据', 'Basis'],
    action: ['建议措施', 'Action'], fingerprint: ['指纹', 'Fingerprint'],
    subject: ['对象', 'Subject'], rule: ['规则', 'Rule'],
    line: ['第{a}行', 'line {a}'], lines: ['第{a}-{b}行', 'lines {a}-{b}'],
    morePlaces: ['另有{n}处', '{n} more places'],
    actions: ['建议措施', 'Recommended actions'], noActions: ['无', 'None'],
    actionRules: ['依据规则', 'rules'], actionFindings: ['涉及问题{n}项', '{n} findings'],
    waiver: ['豁免', 'Waiver'], approver: ['批准人', 'approver'], docNo: ['批准文号', 'document'],
    expires: ['有效期至', 'expires'], reason: ['理由', 'reason'],
    verdict: ['核实结论', 'Verdict'], deducted: ['扣分', 'points off'],
    stateNew: ['新增', 'new'], stateKnown: ['基线已知', 'known'], stateWaived: ['已豁免', 'waived'],
    ci: ['持续集成状态', 'CI status'],
    wExpired: ['已过期的豁免（不再适用）', 'Expired waivers (no longer applied)'],
    wUnmatched: ['未对应任何问题的豁免', 'Waivers matching no finding'],
    bFixed: ['基线中已不存在的问题（已整改）', 'Baseline findings no longer found (fixed)'],
    entry: ['条目', 'Entry'], selector: ['选择', 'Selects'], file: ['文件', 'File'],
    unit: ['单位', 'Unit'],
    masked: ['身份证号已脱敏显示。', 'ID numbers are masked.'],
    generated: ['由 sanding_rules 生成，离线可用。', 'Generated by sanding_rules; works offline.'],
    reasonCol: ['原因', 'Reason']
  };
  function t(k) { return T[k][L === 'zh' ? 0 : 1]; }
  function fmt(s, o) { return s.replace(/\{(\w+)\}/g, function (_, k) { return String(o[k]); }); }
  function tr2(o) { return o ? (o[L] != null ? o[L] : (o.zh != null ? o.zh : '')) : ''; }
  function num(x) {
    if (x === null || x === undefined) return '—';
    if (typeof x !== 'number') return String(x);
    return Number.isInteger(x) ? String(x) : String(Math.round(x * 100) / 100);
  }
  function val(x) {
    if (x === null || x === undefined) return '—';
    if (typeof x === 'boolean') return L === 'zh' ? (x ? '是' : '否') : (x ? 'yes' : 'no');
    if (typeof x === 'number') return num(x);
    if (typeof x === 'object') return JSON.stringify(x);
    return String(x);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function s(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    return e;
  }
  function ruleTitle(id) { var r = D.rules[id]; return r ? tr2(r.t) : ''; }
  function actionLabel(a) { return D.actions[a] ? tr2(D.actions[a]) : a; }
  function sevLabel(v) { return D.severities[v] ? tr2(D.severities[v]) : v; }
  function joinList(items) { return items.join(L === 'zh' ? '、' : ', '); }

  var M = D.meta;
  var state = { q: '', grade: '', rule: '', status: '', sortKey: 'score', sortDir: 1 };
  var rows = [];      // per unit: {i, u, tr, key, g, rules, st, acts}
  var order = [];     // unit indices in sort order
  var view = [];      // unit indices that pass the filter, in sort order
  var tbody, topPad, bottomPad, countEl, emptyEl, dialog, dialogBody, dialogTitle, openUnit = null;
  var rowHeight = 0, headHeight = 0;
  var collator = null;

  function unitStatuses(u) {
    var st = {};
    if (!u.f.length) st.none = true;
    for (var i = 0; i < u.f.length; i++) st[D.findings[u.f[i]].st] = true;
    return st;
  }
  function unitRules(u) {
    var r = {};
    for (var i = 0; i < u.f.length; i++) r[D.findings[u.f[i]].r] = true;
    return r;
  }

  // ---------------------------------------------------------------- header and summary
  function header() {
    var h = el('header', 'top');
    add(h, el('h1', null, t('title')));
    var meta = el('div', 'meta');
    add(meta, t('dataset') + ': ' + M.dataset + '　' + t('asOf') + ': ' + M.as_of +
      (M.model ? '　' + t('model') + ': ' + M.model : ''));
    add(h, meta, el('div', 'spacer'));
    var b = el('button', 'lang', t('switchLang'));
    b.type = 'button';
    b.id = 'lang-toggle';
    b.addEventListener('click', function () { L = L === 'zh' ? 'en' : 'zh'; render(); });
    add(h, b);
    return h;
  }
  function card(k, v, cls) {
    var c = el('div', 'card' + (cls ? ' ' + cls : ''));
    add(c, el('div', 'v', typeof v === 'number' ? v.toLocaleString() : v), el('div', 'k', t(k)));
    return c;
  }
  function summary() {
    var sec = el('section');
    sec.id = 'summary';
    add(sec, el('h2', null, t('summary')));
    var cards = el('div', 'cards');
    var sev = M.by_severity || {};
    add(cards, card('units', M.units), card('people', M.people), card('findings', M.findings),
      card('error', sev.error || 0, 'error'), card('warning', sev.warning || 0, 'warning'),
      card('info', sev.info || 0, 'info'), card('evaluated', M.rules_evaluated),
      card('notEvaluated', D.not_evaluated.length));
    if (M.has_baseline || M.has_waivers) {
      add(cards, card('newF', M['new'], 'error'), card('known', M.known), card('waived', M.waived, 'info'));
      if (M.has_baseline) add(cards, card('fixed', M.baseline_fixed));
    }
    if (M.dismissed) add(cards, card('dismissed', M.dismissed));
    add(sec, cards);
    return sec;
  }

  // ---------------------------------------------------------------- charts (SVG)
  function gradeChart() {
    var box = el('div', 'chart');
    box.id = 'chart-grades';
    add(box, el('h3', null, t('grades')));
    var grades = ['A', 'B', 'C'];
    Object.keys(M.by_grade || {}).forEach(function (g) { if (grades.indexOf(g) < 0) grades.push(g); });
    var counts = grades.map(function (g) { return (M.by_grade || {})[g] || 0; });
    var ungraded = D.units.filter(function (u) { return !u.g; }).length;
    if (ungraded) { grades.push(''); counts.push(ungraded); }
    var W = 420, H = 220, top = 24, bottom = 30, left = 20;
    var max = Math.max.apply(null, counts.concat([1]));
    var bw = (W - left * 2) / grades.length;
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': t('grades') });
    add(svg, s('line', { x1: left, x2: W - left, y1: H - bottom, y2: H - bottom, stroke: '#9aa5b1' }));
    grades.forEach(function (g, i) {
      var h = (H - top - bottom) * counts[i] / max;
      var x = left + i * bw + bw * 0.2, y = H - bottom - h;
      var grp = s('g', { 'class': 'bar', 'data-grade': g });
      var colors = { A: '#2e8b57', B: '#c9a227', C: '#c0392b' };
      var title = s('title', {});
      title.textContent = (g || t('ungraded')) + ': ' + counts[i];
      add(grp, title, s('rect', { x: x, y: y, width: bw * 0.6, height: Math.max(h, 0.5),
        fill: colors[g] || '#8795a1', rx: 2 }));
      var label = s('text', { x: x + bw * 0.3, y: y - 6, 'text-anchor': 'middle' });
      label.textContent = counts[i].toLocaleString();
      var name = s('text', { x: x + bw * 0.3, y: H - bottom + 18, 'text-anchor': 'middle' });
      name.textContent = g || t('ungraded');
      add(grp, label, name);
      grp.addEventListener('click', function () { setFilter('grade', g); });
      add(svg, grp);
    });
    add(box, svg);
    add(box, el('h3', null, t('bySeverity')), severityBar());
    return box;
  }
  function severityBar() {
    var sev = M.by_severity || {}, keys = ['error', 'warning', 'info'];
    var total = keys.reduce(function (a, k) { return a + (sev[k] || 0); }, 0);
    var W = 420, H = 44, x = 20, w = W - 40;
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': t('bySeverity') });
    var colors = { error: '#c0392b', warning: '#c27c0e', info: '#2e86c1' };
    if (!total) { add(svg, s('rect', { x: x, y: 4, width: w, height: 16, fill: '#e5e8ec', rx: 2 })); return svg; }
    keys.forEach(function (k) {
      var n = sev[k] || 0;
      if (!n) return;
      var bw = w * n / total;
      var g = s('g', {});
      var title = s('title', {});
      title.textContent = sevLabel(k) + ': ' + n;
      add(g, title, s('rect', { x: x, y: 4, width: bw, height: 16, fill: colors[k] }));
      var label = s('text', { x: x + bw / 2, y: 36, 'text-anchor': 'middle' });
      label.textContent = sevLabel(k) + ' ' + n;
      add(g, label);
      add(svg, g);
      x += bw;
    });
    return svg;
  }
  function ruleChart() {
    var box = el('div', 'chart');
    box.id = 'chart-rules';
    add(box, el('h3', null, t('byRule')));
    var ids = Object.keys(M.by_rule || {}).sort();
    if (!ids.length) { add(box, el('p', 'muted', t('none'))); return box; }
    var rowH = 20, top = 6, left = 230, right = 50, W = 600, cut = L === 'zh' ? 15 : 30;
    var H = top * 2 + rowH * ids.length;
    var max = Math.max.apply(null, ids.map(function (id) { return M.by_rule[id]; }).concat([1]));
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': t('byRule') });
    var colors = { error: '#c0392b', warning: '#c27c0e', info: '#2e86c1' };
    ids.forEach(function (id, i) {
      var n = M.by_rule[id], y = top + i * rowH;
      var w = (W - left - right) * n / max;
      var grp = s('g', { 'class': 'bar', 'data-rule': id });
      var title = s('title', {});
      title.textContent = id + ' ' + ruleTitle(id) + ': ' + n;
      var name = s('text', { x: left - 6, y: y + rowH * 0.7, 'text-anchor': 'end' });
      var label = id + ' ' + ruleTitle(id);
      name.textContent = label.length > cut ? label.slice(0, cut - 1) + '…' : label;
      var sev = D.rules[id] ? D.rules[id].v : 'info';
      var bar = s('rect', { x: left, y: y + 3, width: Math.max(w, 1), height: rowH - 6,
        fill: colors[sev] || '#8795a1', rx: 2 });
      var count = s('text', { x: left + w + 4, y: y + rowH * 0.7 });
      count.textContent = n.toLocaleString();
      add(grp, title, name, bar, count);
      grp.addEventListener('click', function () { setFilter('rule', id); });
      add(svg, grp);
    });
    add(box, svg);
    return box;
  }

  // ---------------------------------------------------------------- CI status and rules not evaluated
  function simpleTable(head, body) {
    var tb = el('table');
    var thead = el('thead'), trh = el('tr');
    head.forEach(function (h) { add(trh, el('th', null, h)); });
    add(thead, trh);
    var tbd = el('tbody');
    body.forEach(function (r) {
      var tr = el('tr');
      r.forEach(function (c) { add(tr, el('td', null, c === null || c === undefined ? '—' : String(c))); });
      add(tbd, tr);
    });
    add(tb, thead, tbd);
    return tb;
  }
  function waiverRows(list) {
    return list.map(function (w) {
      var sel = w.rule ? w.rule + ' ' + w.unit_id + ' ' + w.subject : w.fingerprint;
      var where = w.source || {};
      return [w.entry, sel, w.doc_no, w.approver, w.expires, w.reason,
        (where.file || '') + (where.line ? ':' + where.line : '')];
    });
  }
  function ciSection() {
    if (!M.has_baseline && !M.has_waivers) return null;
    var sec = el('section', 'panel');
    sec.id = 'ci';
    add(sec, el('h2', null, t('ci')));
    add(sec, el('p', null, t('newF') + ' ' + M['new'] + '　' + t('known') + ' ' + M.known + '　' +
      t('waived') + ' ' + M.waived + (M.has_baseline ? '　' + t('fixed') + ' ' + M.baseline_fixed : '')));
    var wHead = [t('entry'), t('selector'), t('docNo'), t('approver'), t('expires'), t('reason'), t('file')];
    if (D.waivers_expired.length) {
      add(sec, el('h3', null, t('wExpired')), simpleTable(wHead, waiverRows(D.waivers_expired)));
    }
    if (D.waivers_unmatched.length) {
      add(sec, el('h3', null, t('wUnmatched')), simpleTable(wHead, waiverRows(D.waivers_unmatched)));
    }
    if (D.baseline_fixed.length) {
      add(sec, el('h3', null, t('bFixed')), simpleTable(
        [t('rule'), t('unit'), t('subject'), t('file'), t('fingerprint')],
        D.baseline_fixed.map(function (e) { return [e.rule, e.unit_id, e.subject, e.file, e.fingerprint]; })));
    }
    return sec;
  }
  function notEvaluated() {
    if (!D.not_evaluated.length) return null;
    var sec = el('section', 'panel');
    sec.id = 'not-evaluated';
    add(sec, el('h2', null, t('notEvaluated')));
    add(sec, simpleTable([t('rule'), '', t('reasonCol')], D.not_evaluated.map(function (n) {
      return [n.r, ruleTitle(n.r), tr2(n.why)];
    })));
    return sec;
  }

  // ---------------------------------------------------------------- unit table
  var COLS = [
    { key: 'id', label: 'colId', width: '10%' },
    { key: 'name', label: 'colName', width: '34%' },
    { key: 'score', label: 'colScore', width: '9%', num: true },
    { key: 'grade', label: 'colGrade', width: '8%' },
    { key: 'findings', label: 'colFindings', width: '9%', num: true },
    { key: 'actions', label: 'colActions', width: '30%' }
  ];
  function option(value, label, selected) {
    var o = el('option', null, label);
    o.value = value;
    if (selected) o.selected = true;
    return o;
  }
  function unitSection() {
    var sec = el('section');
    sec.id = 'units';
    add(sec, el('h2', null, t('unitTable')));
    var controls = el('div', 'controls');
    var input = el('input');
    input.type = 'search';
    input.id = 'unit-filter';
    input.placeholder = t('filter');
    input.setAttribute('aria-label', t('filter'));
    input.value = state.q;
    input.addEventListener('input', function () { state.q = input.value; applyFilter(); });
    var grade = el('select');
    grade.id = 'grade-filter';
    add(grade, option('', t('allGrades'), !state.grade));
    ['A', 'B', 'C'].forEach(function (g) { add(grade, option(g, g, state.grade === g)); });
    grade.addEventListener('change', function () { state.grade = grade.value; applyFilter(); });
    var rule = el('select');
    rule.id = 'rule-filter';
    add(rule, option('', t('allRules'), !state.rule));
    Object.keys(M.by_rule || {}).sort().forEach(function (id) {
      add(rule, option(id, id + ' ' + ruleTitle(id) + ' (' + M.by_rule[id] + ')', state.rule === id));
    });
    rule.addEventListener('change', function () { state.rule = rule.value; applyFilter(); });
    var status = el('select');
    status.id = 'status-filter';
    add(status, option('', t('allStatus'), !state.status));
    var sts = [['none', 'stNone']];
    if (M.has_baseline || M.has_waivers) sts = [['new', 'stNew'], ['known', 'stKnown'], ['waived', 'stWaived']].concat(sts);
    sts.forEach(function (p) { add(status, option(p[0], t(p[1]), state.status === p[0])); });
    status.addEventListener('change', function () { state.status = status.value; applyFilter(); });
    countEl = el('span', 'count');
    countEl.id = 'unit-count';
    add(controls, input, grade, rule, status, countEl);
    add(sec, controls);

    var wrap = el('div', 'tablewrap');
    var table = el('table', 'units');
    table.id = 'unit-table';
    var colgroup = el('colgroup');
    COLS.forEach(function (c) { var col = el('col'); col.style.width = c.width; add(colgroup, col); });
    var thead = el('thead'), trh = el('tr');
    COLS.forEach(function (c) {
      var th = el('th', c.num ? 'num' : null);
      th.setAttribute('data-key', c.key);
      var b = el('button', null, t(c.label));
      b.type = 'button';
      b.addEventListener('click', function () {
        if (state.sortKey === c.key) state.sortDir = -state.sortDir;
        else { state.sortKey = c.key; state.sortDir = 1; }
        applySort();
      });
      add(th, b);
      add(trh, th);
    });
    add(thead, trh);
    tbody = el('tbody');
    buildRows();
    add(table, colgroup, thead, tbody);
    emptyEl = el('p', 'empty', t('noMatch'));
    emptyEl.hidden = true;
    add(wrap, table, emptyEl);
    add(sec, wrap);
    var ticking = false;
    wrap.addEventListener('scroll', function () {
      if (ticking) return;
      ticking = true;
      requestAnimationFrame(function () { ticking = false; renderWindow(); });
    });
    tbody.addEventListener('click', function (ev) {
      var tr = ev.target.closest('tr.u');
      if (tr && tr.parentNode === tbody) openDetail(+tr.getAttribute('data-i'));
    });
    tbody.addEventListener('keydown', function (ev) {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      var tr = ev.target.closest('tr.u');
      if (tr) { ev.preventDefault(); openDetail(+tr.getAttribute('data-i')); }
    });
    return sec;
  }
  function buildRows() {
    // Every unit's filter and sort keys; its <tr> is made the first time it scrolls into view.
    rows = new Array(D.units.length);
    for (var i = 0; i < D.units.length; i++) {
      var u = D.units[i];
      rows[i] = {
        i: i, u: u, tr: null, key: (u.i + ' ' + u.n).toLowerCase(), g: u.g || '',
        rules: unitRules(u), st: unitStatuses(u), acts: joinList(u.a.map(actionLabel))
      };
    }
    topPad = spacer();
    bottomPad = spacer();
    add(tbody, topPad, bottomPad);
  }
  function spacer() {
    var tr = el('tr', 'spacer'), td = el('td');
    td.colSpan = COLS.length;
    add(tr, td);
    return tr;
  }
  function rowElement(r) {
    if (r.tr) return r.tr;
    var u = r.u;
    var tr = document.createElement('tr');
    tr.className = 'u';
    tr.setAttribute('data-i', r.i);
    tr.setAttribute('data-unit', u.i);
    tr.tabIndex = 0;
    var gradeTd = el('td');
    add(gradeTd, el('span', 'grade ' + (u.g || ''), u.g || '—'));
    var name = el('td', 'name', u.n), acts = el('td', 'acts', r.acts);
    name.title = u.n;
    acts.title = r.acts;
    add(tr, el('td', null, u.i), name, el('td', 'num', num(u.sc)), gradeTd,
      el('td', 'num', String(u.f.length)), acts);
    r.tr = tr;
    return tr;
  }
  // The table shows only the rows in (and near) the scrolled window: filtering or sorting
  // 50,000 units touches a few dozen elements.
  function renderWindow() {
    var wrap = tbody.parentNode.parentNode;
    var rowH = rowHeight || 32;
    var first = Math.max(0, Math.floor((wrap.scrollTop - headHeight) / rowH) - 15);
    var count = Math.ceil(wrap.clientHeight / rowH) + 30;
    var last = Math.min(view.length, first + count);
    if (first > last) first = Math.max(0, last - count);
    var frag = document.createDocumentFragment();
    for (var i = first; i < last; i++) frag.appendChild(rowElement(rows[view[i]]));
    while (topPad.nextSibling !== bottomPad) tbody.removeChild(topPad.nextSibling);
    tbody.insertBefore(frag, bottomPad);
    setPad(topPad, first * rowH);
    setPad(bottomPad, (view.length - last) * rowH);
    if (!rowHeight && last > first) {
      var h = topPad.nextSibling.getBoundingClientRect().height;
      if (h > 0) { rowHeight = h; if (Math.abs(h - rowH) > 0.5) renderWindow(); }
    }
  }
  function setPad(tr, px) {
    tr.hidden = px <= 0;
    tr.firstChild.style.height = px + 'px';
  }
  function sortValue(r, key) {
    switch (key) {
      case 'id': return r.u.i;
      case 'name': return r.u.n;
      case 'score': return r.u.sc === null || r.u.sc === undefined ? Infinity : r.u.sc;
      case 'grade': return r.g || '~';
      case 'findings': return r.u.f.length;
      default: return r.acts;
    }
  }
  function applySort() {
    var key = state.sortKey, dir = state.sortDir;
    collator = collator || new Intl.Collator(L === 'zh' ? 'zh-CN' : 'en', { numeric: true });
    var keyed = rows.map(function (r) { return [sortValue(r, key), r]; });
    keyed.sort(function (a, b) {
      var x = a[0], y = b[0], c;
      if (typeof x === 'number' && typeof y === 'number') c = x === y ? 0 : (x < y ? -1 : 1);
      else c = collator.compare(String(x), String(y));
      if (c === 0) c = a[1].u.i < b[1].u.i ? -1 : (a[1].u.i > b[1].u.i ? 1 : 0);
      return c * dir;
    });
    order = keyed.map(function (p) { return p[1].i; });
    var ths = tbody.parentNode.querySelectorAll('thead th');
    for (var j = 0; j < ths.length; j++) {
      var k = ths[j].getAttribute('data-key');
      if (k === key) ths[j].setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      else ths[j].removeAttribute('aria-sort');
    }
    applyFilter();
  }
  function applyFilter() {
    var t0 = performance.now();
    var q = state.q.trim().toLowerCase(), g = state.grade, ru = state.rule, st = state.status;
    var out = [];
    for (var i = 0; i < order.length; i++) {
      var r = rows[order[i]];
      if ((!q || r.key.indexOf(q) >= 0) && (!g || r.g === g) && (!ru || r.rules[ru] === true) &&
        (!st || r.st[st] === true)) out.push(r.i);
    }
    view = out;
    var n = out.length;
    countEl.textContent = fmt(t('shown'), { n: n.toLocaleString(), total: rows.length.toLocaleString() });
    emptyEl.hidden = n > 0;
    tbody.parentNode.parentNode.scrollTop = 0;
    renderWindow();
    window.sandingFilterMs = performance.now() - t0;
    return n;
  }
  function setFilter(which, value) {
    state[which] = value;
    var sel = document.getElementById(which === 'grade' ? 'grade-filter' : 'rule-filter');
    if (sel) sel.value = value;
    applyFilter();
    document.getElementById('units').scrollIntoView({ block: 'start' });
  }

  // ---------------------------------------------------------------- unit detail
  function places(f) {
    var out = f.p.map(function (p) {
      if (p[3]) return p[0] + ' ' + p[3];
      if (p[1] === null || p[1] === undefined) return p[0];
      return p[0] + ' ' + (p[2] !== null && p[2] !== p[1] ? fmt(t('lines'), { a: p[1], b: p[2] }) : fmt(t('line'), { a: p[1] }));
    });
    if (f.pn > f.p.length) out.push(fmt(t('morePlaces'), { n: f.pn - f.p.length }));
    return out.join(L === 'zh' ? '；' : '; ');
  }
  function dl(pairs) {
    var d = el('dl');
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === '') return;
      var dd = el('dd');
      add(dd, p[1]);
      add(d, el('dt', null, p[0]), dd);
    });
    return d;
  }
  function evidenceTable(ev) {
    var tb = el('table', 'ev'), body = el('tbody');
    Object.keys(ev || {}).forEach(function (k) {
      var tr = el('tr');
      add(tr, el('td', 'muted', k), el('td', null, val(ev[k])));
      add(body, tr);
    });
    add(tb, body);
    return tb;
  }
  function findingCard(f) {
    var c = el('div', 'finding ' + f.v);
    c.setAttribute('data-fingerprint', f.f);
    var head = el('div');
    add(head, el('span', 'sev ' + f.v, sevLabel(f.v)), ' ', el('strong', null, f.r + ' ' + ruleTitle(f.r)));
    var stKey = f.st === 'new' ? 'stateNew' : (f.st === 'known' ? 'stateKnown' : 'stateWaived');
    if (M.has_baseline || M.has_waivers || f.st !== 'new') add(head, el('span', 'tag ' + f.st, t(stKey)));
    if (f.vd === 'dismissed') add(head, el('span', 'tag', t('dismissed')));
    add(c, head, el('div', 'msg', tr2(f.m)));
    var pairs = [
      [t('subject'), f.s],
      [t('evidence'), evidenceTable(f.e)],
      [t('source'), places(f)],
      [t('basis'), D.rules[f.r] ? tr2(D.rules[f.r].b) : ''],
      [t('action'), actionLabel(f.a)],
      [t('deducted'), f.d ? num(f.d) : null],
      [t('verdict'), f.vd ? f.vd + (f.vr ? '：' + f.vr : '') : null],
      [t('fingerprint'), f.f]
    ];
    if (f.w) {
      pairs.push([t('waiver'), t('docNo') + ' ' + f.w.doc_no + '；' + t('approver') + ' ' + f.w.approver +
        '；' + t('expires') + ' ' + f.w.expires + '；' + t('reason') + ' ' + f.w.reason]);
    }
    add(c, dl(pairs));
    return c;
  }
  function breakdownTable(u) {
    var tb = el('table', 'bd');
    var thead = el('thead'), trh = el('tr');
    [t('indicator'), t('score'), t('max'), t('measured'), t('peer'), t('deductions')].forEach(function (h, i) {
      add(trh, el('th', i > 0 && i < 5 ? 'num' : null, h));
    });
    add(thead, trh);
    var body = el('tbody');
    u.b.forEach(function (r) {
      var node = D.nodes[r[0]];
      var tr = el('tr', 'l' + node.l);
      var name = el('td', null, tr2(node.t));
      if (node.l === 3 && node.d) name.title = tr2(node.d);
      var sc = el('td', 'num');
      var meter = el('span', 'meter'), fill = el('i');
      var ratio = r[2] ? Math.max(0, Math.min(1, r[1] / r[2])) : 0;
      fill.style.width = (100 * ratio) + '%';
      if (ratio < 0.6) fill.className = 'low'; else if (ratio < 0.9) fill.className = 'mid';
      add(meter, fill);
      add(sc, meter, num(r[1]));
      add(tr, name, sc, el('td', 'num', num(r[2])));
      if (node.l === 3) {
        var ded = r[6].map(function (d) { return d[1] + ' −' + num(d[2]) + (d[3] === 'dismissed' ? ' (' + t('dismissed') + ')' : ''); });
        var note = r[5] ? tr2(r[5]) : '';
        add(tr, el('td', 'num', num(r[3])), el('td', 'num', num(r[4])),
          el('td', null, joinList(ded) + (note ? (ded.length ? '；' : '') + note : '')));
      } else {
        add(tr, el('td'), el('td'), el('td'));
      }
      add(body, tr);
    });
    add(tb, thead, body);
    return tb;
  }
  function openDetail(i) {
    var u = D.units[i];
    openUnit = i;
    dialogTitle.textContent = u.i + ' ' + u.n;
    dialogBody.textContent = '';
    var sum = el('p');
    add(sum, t('score') + ': ', el('strong', null, num(u.sc)), '　', el('span', 'grade ' + (u.g || ''), u.g || '—'));
    add(dialogBody, sum);
    if (u.gr) add(dialogBody, el('p', 'muted', t('gradeReason') + ': ' + tr2(u.gr)));
    add(dialogBody, el('h3', null, t('actions')));
    if (u.ad.length) {
      var ul = el('ul', 'plain');
      u.ad.forEach(function (a) {
        var li = el('li');
        add(li, el('strong', null, actionLabel(a[0])), ' ', el('span', 'sev ' + a[1], sevLabel(a[1])),
          ' ' + t('actionRules') + ': ' + joinList(a[2].map(function (r) { return r + (ruleTitle(r) ? ' ' + ruleTitle(r) : ''); })) +
          (a[3] ? '；' + fmt(t('actionFindings'), { n: a[3] }) : ''));
        add(ul, li);
      });
      add(dialogBody, ul);
    } else {
      add(dialogBody, el('p', 'muted', t('noActions')));
    }
    add(dialogBody, el('h3', null, t('unitFindings') + ' (' + u.f.length + ')'));
    if (!u.f.length) add(dialogBody, el('p', 'muted', t('none')));
    var rank = { error: 0, warning: 1, info: 2 };
    u.f.slice().sort(function (a, b) {
      return (rank[D.findings[a].v] - rank[D.findings[b].v]) || (a - b);
    }).forEach(function (fi) { add(dialogBody, findingCard(D.findings[fi])); });
    if (u.b.length) add(dialogBody, el('h3', null, t('breakdown')), breakdownTable(u));
    if (!dialog.open) dialog.showModal();
    dialog.scrollTop = 0;
  }
  function makeDialog() {
    dialog = el('dialog');
    dialog.id = 'detail';
    var head = el('div', 'head');
    dialogTitle = el('h2');
    var close = el('button', null, t('close'));
    close.type = 'button';
    close.id = 'detail-close';
    close.addEventListener('click', function () { dialog.close(); });
    dialog.addEventListener('close', function () { openUnit = null; });
    add(head, dialogTitle, close);
    dialogBody = el('div', 'body');
    add(dialog, head, dialogBody);
    return dialog;
  }

  // ---------------------------------------------------------------- page
  function render() {
    var reopen = openUnit;
    if (dialog && dialog.open) dialog.close();
    collator = null;
    document.documentElement.lang = L === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title') + ' · ' + M.as_of;
    var app = document.getElementById('app');
    app.textContent = '';
    var main = el('main');
    var charts = el('section', 'charts');
    charts.id = 'charts';
    add(charts, gradeChart(), ruleChart());
    add(main, summary(), charts, ciSection(), notEvaluated(), unitSection());
    var foot = el('footer', null, t('masked') + ' ' + t('generated'));
    add(app, header(), main, foot, makeDialog());
    rowHeight = 0;
    headHeight = tbody.parentNode.querySelector('thead').getBoundingClientRect().height;
    applySort();
    if (reopen !== null && reopen !== undefined) openDetail(reopen);
  }
  render();
  window.sandingReport = {
    filter: applyFilter, state: state, open: openDetail,
    matched: function () { return view.length; },
    matchedUnits: function () { return view.map(function (i) { return D.units[i].i; }); }
  };
})();
"""
