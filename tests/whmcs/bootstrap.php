<?php
/**
 * What WHMCS itself provides to a server module, and nothing of the module's own logic:
 * the WHMCS constant, logModuleCall (tblmodulelog), localAPI (GetClientsProducts,
 * UpdateClientProduct), WHMCS\Database\Capsule::table(...)->where(...)->update(...) and the
 * WHMCS\UsageBilling interfaces and classes of the MetricProvider (7.9+), written here from
 * their documented signatures (https://classdocs.whmcs.com, developers.whmcs.com).
 *
 * WHMCS's database is a JSON file (VOXCAST_WHMCS_DB) the pytest driver writes: servers,
 * products, clients and services (tblhosting). Each phpunit run reads it and writes it back,
 * so the Python side sees what the module changed and the next stage continues from it.
 */

namespace {
    define('WHMCS', true);

    final class WhmcsTestDb
    {
        public static $data = null;
        public static $moduleLog = [];

        public static function path()
        {
            $path = getenv('VOXCAST_WHMCS_DB');
            if (!$path) {
                throw new RuntimeException('VOXCAST_WHMCS_DB is not set (the pytest driver sets it)');
            }
            return $path;
        }

        public static function &data()
        {
            if (self::$data === null) {
                self::$data = json_decode(file_get_contents(self::path()), true);
            }
            return self::$data;
        }

        public static function save()
        {
            if (self::$data !== null) {
                self::$data['modulelog'] = array_merge(self::$data['modulelog'] ?? [], self::$moduleLog);
                self::$moduleLog = [];
                file_put_contents(self::path(), json_encode(self::$data, JSON_PRETTY_PRINT));
            }
        }

        /** The tblhosting rows (id => row). */
        public static function &services()
        {
            $data = &self::data();
            return $data['services'];
        }
    }

    register_shutdown_function(['WhmcsTestDb', 'save']);

    /** WHMCS's module log: the request, the raw and processed response, secrets masked. */
    function logModuleCall($module, $action, $requestString, $responseData, $processedData = '',
                           $replaceVars = [])
    {
        $mask = function ($value) use ($replaceVars) {
            $text = is_string($value) ? $value : print_r($value, true);
            foreach ((array) $replaceVars as $secret) {
                if ((string) $secret !== '') {
                    $text = str_replace((string) $secret, str_repeat('*', strlen((string) $secret)), $text);
                }
            }
            return $text;
        };
        WhmcsTestDb::$moduleLog[] = ['module' => $module, 'action' => $action,
            'request' => $mask($requestString), 'response' => $mask($responseData),
            'processed' => $mask($processedData)];
    }

    /** WHMCS's internal API: the two commands the module calls. */
    function localAPI($command, $values = [], $adminUser = null)
    {
        $services = &WhmcsTestDb::services();
        switch ($command) {
            case 'GetClientsProducts':
                $rows = [];
                foreach ($services as $row) {
                    if ((isset($values['clientid']) && (int) $row['userid'] !== (int) $values['clientid'])
                            || (isset($values['serviceid']) && (int) $row['id'] !== (int) $values['serviceid'])
                            || (isset($values['username2']) && $row['username'] !== $values['username2'])) {
                        continue;
                    }
                    $rows[] = ['id' => $row['id'], 'clientid' => $row['userid'], 'pid' => $row['packageid'],
                        'serverid' => $row['server'], 'domain' => $row['domain'] ?? '',
                        'username' => $row['username'], 'status' => $row['domainstatus'],
                        'nextduedate' => $row['nextduedate'] ?? '0000-00-00'];
                }
                return ['result' => 'success', 'totalresults' => count($rows), 'numreturned' => count($rows),
                    'products' => ['product' => $rows]];
            case 'UpdateClientProduct':
                $id = (string) (int) $values['serviceid'];
                if (!isset($services[$id])) {
                    return ['result' => 'error', 'message' => 'Service ID Not Found'];
                }
                $map = ['serviceusername' => 'username', 'domain' => 'domain', 'status' => 'domainstatus'];
                foreach ($map as $param => $column) {
                    if (array_key_exists($param, $values)) {
                        $services[$id][$column] = $values[$param];
                    }
                }
                return ['result' => 'success', 'serviceid' => (int) $id];
            default:
                return ['result' => 'error', 'message' => "Command not known to the test: {$command}"];
        }
    }
}

namespace WHMCS\Database {
    /** Laravel's query builder as WHMCS exposes it, for tblhosting: where(...)->update([...]). */
    class Capsule
    {
        public static function table($name)
        {
            if ($name !== 'tblhosting') {
                throw new \RuntimeException("table {$name} is not in the test's WHMCS database");
            }
            return new HostingQuery();
        }
    }

    class HostingQuery
    {
        private $wheres = [];

        public function where($column, $operator, $value = null)
        {
            if (func_num_args() === 2) {
                $value = $operator;
            }
            $this->wheres[$column] = $value;
            return $this;
        }

        public function update(array $values)
        {
            $services = &\WhmcsTestDb::services();
            $count = 0;
            foreach ($services as $id => $row) {
                foreach ($this->wheres as $column => $value) {
                    if ((string) ($row[$column] ?? '') !== (string) $value) {
                        continue 2;
                    }
                }
                $services[$id] = array_merge($row, $values);
                $count++;
            }
            return $count;
        }
    }
}

namespace WHMCS\UsageBilling\Contracts\Metrics {
    interface UnitInterface
    {
        const TYPE_INT = 'int';
        const TYPE_FLOAT_PRECISION_LOW = 'float_low';
        const TYPE_FLOAT_PRECISION_HIGH = 'float_high';
        const TYPE_CURRENCY = 'currency';
        const TYPE_MICROTIME = 'microtime';

        public function name();
        public function perUnitName($value = 0);
        public function prefix();
        public function suffix();
        public function type();
    }

    interface UsageInterface
    {
        public function collectedAt();
        public function startAt();
        public function endAt();
        public function value();
    }

    interface MetricInterface
    {
        const TYPE_SNAPSHOT = 'snapshot';
        const TYPE_PERIOD_DAY = 'day';
        const TYPE_PERIOD_MONTH = 'month';

        public function usage();
        public function withUsage(UsageInterface $usage = null);
        public function units();
        public function systemName();
        public function displayName();
        public function type();
    }

    interface ProviderInterface
    {
        public function metrics();
        public function tenantUsage($tenant);
        public function usage();
    }
}

namespace WHMCS\UsageBilling\Metrics {
    use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\UnitInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\UsageInterface;

    class Usage implements UsageInterface
    {
        private $value, $collectedAt, $startAt, $endAt;

        public function __construct($value, $collectedAt = null, $startAt = null, $endAt = null)
        {
            $this->value = (float) $value;
            $this->collectedAt = $collectedAt ?? time();
            $this->startAt = $startAt ?? $this->collectedAt;
            $this->endAt = $endAt ?? $this->collectedAt;
        }

        public function collectedAt() { return $this->collectedAt; }
        public function startAt() { return $this->startAt; }
        public function endAt() { return $this->endAt; }
        public function value() { return $this->value; }
    }

    class Metric implements MetricInterface
    {
        private $systemName, $displayName, $type, $units, $usage;

        public function __construct($systemName, $displayName = null, $type = null,
                                    UnitInterface $units = null, UsageInterface $usage = null)
        {
            $this->systemName = $systemName;
            $this->displayName = $displayName ?? $systemName;
            $this->type = $type ?? self::TYPE_SNAPSHOT;
            $this->units = $units ?? new Units\WholeNumber('');
            $this->usage = $usage ?? new Usage(0);
        }

        public function usage() { return $this->usage; }

        public function withUsage(UsageInterface $usage = null)
        {
            return new static($this->systemName, $this->displayName, $this->type, $this->units, $usage);
        }

        public function units() { return $this->units; }
        public function systemName() { return $this->systemName; }
        public function displayName() { return $this->displayName; }
        public function type() { return $this->type; }
    }
}

namespace WHMCS\UsageBilling\Metrics\Units {
    use WHMCS\UsageBilling\Contracts\Metrics\UnitInterface;

    class WholeNumber implements UnitInterface
    {
        private $name, $single, $plural;

        public function __construct($name, $singlePerUnitName = null, $pluralPerUnitName = null,
                                    $prefix = null, $suffix = null)
        {
            $this->name = $name;
            $this->single = $singlePerUnitName;
            $this->plural = $pluralPerUnitName;
        }

        public function name() { return (string) $this->name; }
        public function perUnitName($value = 0) { return round($value) == 1 ? $this->single : $this->plural; }
        public function prefix() { return ''; }
        public function suffix() { return ''; }
        public function type() { return self::TYPE_INT; }
    }
}

namespace {
    require_once dirname(__DIR__, 2) . '/whmcs/modules/servers/voxcast/voxcast.php';
    require_once __DIR__ . '/ModuleParams.php';
}
