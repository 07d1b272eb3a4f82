/* zhuqi (助企): the privacy notice's retention periods, from the server's
 * configuration (GET /api/privacy: [retention], [intake] and [chat]
 * session_ttl), so the page never states a period the server does not
 * apply. Without an answer the general sentence stays alone. */
(function () {
  'use strict';

  function seconds(s) {
    if (s % 86400 === 0) return s / 86400 + ' 天';
    if (s % 3600 === 0) return s / 3600 + ' 小时';
    return Math.round(s / 60) + ' 分钟';
  }

  function days(d) {
    if (d % 365 === 0) return d / 365 + ' 年';
    return d + ' 天';
  }

  function show(r) {
    var p = document.getElementById('privacy-retention');
    if (!p || !r) return;
    p.textContent =
      '保存期限：未提交的草稿在最后一次修改后保存 ' + seconds(r.draft_seconds) +
      '，聊天中的填写进度保存 ' + seconds(r.chat_seconds) +
      '；案件办结或撤回满 ' + days(r.closed_case_days) +
      '后，删除其中的姓名、手机号码、统一社会信用代码、地址和文字描述，只保留用于统计的类别、地区、金额和日期；' +
      '工作人员的操作记录保存 ' + days(r.audit_days) +
      '，消息发送记录保存 ' + days(r.report_days) + '。';
    p.hidden = false;
  }

  function load() {
    var x = new XMLHttpRequest();
    x.open('GET', '/api/privacy');
    x.setRequestHeader('Accept', 'application/json');
    x.onload = function () {
      if (x.status !== 200) return;
      try {
        show(JSON.parse(x.responseText).retention);
      } catch (e) {
        /* the general sentence stays */
      }
    };
    x.send();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', load);
  else load();
})();
