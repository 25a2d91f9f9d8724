{* voxcast service overview (voxcast_ClientArea): the account, its package and period, the
   prepaid balance and this period's usage. Override it in your theme under
   templates/<theme>/modules/servers/voxcast/overview.tpl *}
<div class="voxcast-overview">
  <h4>voxcast</h4>
  <table class="table table-sm">
    <tr><th>Account</th><td>{$tenant.name|escape} ({$tenant.slug|escape}){if $tenant.status == 'suspended'} <span class="label label-warning badge badge-warning">suspended</span>{/if}</td></tr>
    {if $package}
    <tr><th>Package</th><td>{$package.name|escape}</td></tr>
    {/if}
    {if $subscription}
    <tr><th>Current period</th><td>{$subscription.period_start|truncate:10:''} &ndash; {$subscription.period_end|truncate:10:''}</td></tr>
    {/if}
    <tr><th>Prepaid balance</th><td>{$balance|escape}</td></tr>
  </table>
  <h5>Usage{if $usage.from} {$usage.from|escape} &ndash; {$usage.to|escape}{/if}</h5>
  <table class="table table-sm">
    <tr><th>Voice minutes</th><td>{$usage.minutes|default:0}</td>
        <th>Calls</th><td>{$usage.calls|default:0}</td></tr>
    <tr><th>SMS messages</th><td>{$usage.sms_messages|default:0}</td>
        <th>Fax pages</th><td>{$usage.fax_pages|default:0}</td></tr>
    <tr><th>E-mails</th><td>{$usage.emails|default:0}</td>
        <th>Disk</th><td>{if $usage.disk_bytes}{math equation="x / 1048576" x=$usage.disk_bytes format="%.1f"} MB{else}0 MB{/if}</td></tr>
  </table>
  {if $usage.included_left}
  <p class="text-muted">Included this period, still left:
    {foreach from=$usage.included_left key=kind item=left name=inc}{$left|escape} {$kind|escape}{if !$smarty.foreach.inc.last}, {/if}{/foreach}
  </p>
  {/if}
</div>
