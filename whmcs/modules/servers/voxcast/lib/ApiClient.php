<?php
/**
 * voxcast's provisioning API (/api/v1) over php-curl, as the WHMCS module uses it.
 *
 * WHMCS autoloads this namespace from the module's lib/ directory; voxcast.php also
 * requires it, so the module works the same outside WHMCS (its tests).
 */

namespace WHMCS\Module\Server\Voxcast;

class ApiClient
{
    const TIMEOUT_S = 30;

    private $baseUrl;
    private $token;
    private $params;

    public function __construct(array $params)
    {
        $this->params = $params;
        $host = trim((string) ($params['serverhostname'] ?? ''));
        if ($host === '') {
            $host = trim((string) ($params['serverip'] ?? ''));
        }
        if ($host === '') {
            throw new ApiError('No voxcast server: give the server a hostname (or IP address).');
        }
        $secure = !empty($params['serversecure']) && $params['serversecure'] !== 'off';
        $scheme = $secure ? 'https' : 'http';
        if (preg_match('#^(https?)://#i', $host, $m)) {  // a hostname typed with its scheme
            $scheme = strtolower($m[1]);
            $host = substr($host, strlen($m[0]));
        }
        $host = rtrim($host, '/');
        $port = trim((string) ($params['serverport'] ?? ''));
        if ($port !== '' && strpos($host, ':') === false
                && !($port === '443' && $scheme === 'https') && !($port === '80' && $scheme === 'http')) {
            $host .= ':' . $port;
        }
        $this->baseUrl = $scheme . '://' . $host . '/api/v1';
        $token = trim((string) ($params['serveraccesshash'] ?? ''));
        if ($token === '') {
            $token = trim((string) ($params['serverpassword'] ?? ''));
        }
        if ($token === '') {
            throw new ApiError('No voxcast API key: put the provider API key in the server\'s '
                . 'Access Hash (or Password) field.');
        }
        $this->token = $token;
    }

    public function baseUrl()
    {
        return $this->baseUrl;
    }

    public function get($path, $action, array $query = [])
    {
        if ($query) {
            $path .= '?' . http_build_query($query);
        }
        return $this->request('GET', $path, null, null, $action);
    }

    public function post($path, array $body, $idempotencyKey, $action)
    {
        return $this->request('POST', $path, $body, $idempotencyKey, $action);
    }

    /**
     * One request; every one is logged with logModuleCall (the API key and the service's
     * password masked). Returns an ApiResponse for 2xx, throws ApiError otherwise.
     */
    public function request($method, $path, $body, $idempotencyKey, $action)
    {
        $url = $this->baseUrl . $path;
        $headers = [
            'Authorization: Bearer ' . $this->token,
            'Accept: application/json',
            'User-Agent: voxcast-whmcs/1.0',
        ];
        $payload = null;
        if ($body !== null) {
            // an empty body is the empty object, never PHP's empty list "[]"
            $payload = $body === [] ? '{}'
                : json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
            $headers[] = 'Content-Type: application/json';
        }
        if ($idempotencyKey !== null) {
            $headers[] = 'Idempotency-Key: ' . $idempotencyKey;
        }
        $replayed = false;
        $ch = curl_init($url);
        curl_setopt_array($ch, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_CONNECTTIMEOUT => 10,
            CURLOPT_TIMEOUT => self::TIMEOUT_S,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_SSL_VERIFYPEER => true,
            CURLOPT_SSL_VERIFYHOST => 2,
            CURLOPT_HEADERFUNCTION => function ($ch, $line) use (&$replayed) {
                if (stripos($line, 'Idempotent-Replayed:') === 0
                        && stripos($line, 'true') !== false) {
                    $replayed = true;
                }
                return strlen($line);
            },
        ]);
        if ($payload !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, $payload);
        }
        $raw = curl_exec($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $transportError = $raw === false ? curl_error($ch) : '';
        curl_close($ch);

        $data = is_string($raw) && $raw !== '' ? json_decode($raw, true) : null;
        $this->log($action, $method, $url, $idempotencyKey, $body, $status, $raw, $data, $replayed);

        if ($raw === false) {
            throw new ApiError("voxcast at {$this->baseUrl} did not answer: {$transportError}");
        }
        if ($status >= 200 && $status < 300) {
            return new ApiResponse($status, is_array($data) ? $data : [], $replayed);
        }
        $error = is_array($data) && isset($data['error']) && is_array($data['error'])
            ? $data['error'] : [];
        $code = (string) ($error['code'] ?? 'http-' . $status);
        $message = (string) ($error['message'] ?? trim(substr(strip_tags((string) $raw), 0, 200)));
        $fields = isset($error['fields']) && is_array($error['fields']) ? $error['fields'] : [];
        $text = "voxcast refused ({$status} {$code}): " . ($message !== '' ? $message : 'no reason given');
        $details = [];
        foreach ($fields as $field => $reason) {
            $details[] = $field . ': ' . (is_array($reason)
                ? implode(', ', array_map('strval', $reason)) : $reason);
        }
        if ($details) {
            $text .= ' [' . implode('; ', $details) . ']';
        }
        throw new ApiError($text, $status, $code, $fields, $replayed);
    }

    private function log($action, $method, $url, $key, $body, $status, $raw, $data, $replayed)
    {
        if (!function_exists('logModuleCall')) {
            return;
        }
        $request = ['method' => $method, 'url' => $url];
        if ($key !== null) {
            $request['idempotency_key'] = $key;
        }
        if ($body !== null) {
            $request['body'] = $body;
        }
        $mask = [$this->token];
        foreach (['password', 'serverpassword'] as $secret) {
            if (!empty($this->params[$secret]) && is_string($this->params[$secret])) {
                $mask[] = $this->params[$secret];
            }
        }
        logModuleCall('voxcast', $action, $request, $raw === false ? '' : (string) $raw,
            ['status' => $status, 'replayed' => $replayed, 'data' => $data], $mask);
    }
}
