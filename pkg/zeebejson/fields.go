package zeebejson

// Envelope fields, in the order Encode writes them ("value" last).
const (
	ePartitionID = iota
	ePosition
	eSourceRecordPosition
	eKey
	eTimestamp
	eRecordType
	eValueType
	eIntent
	eRejectionType
	eRejectionReason
	eBrokerVersion
	eRecordVersion
	eOperationReference
	eBatchOperationReference
	eAuthorizations
	eValue
	numEnvelope
)

var envelopeNames = [numEnvelope]string{
	ePartitionID:             "partitionId",
	ePosition:                "position",
	eSourceRecordPosition:    "sourceRecordPosition",
	eKey:                     "key",
	eTimestamp:               "timestamp",
	eRecordType:              "recordType",
	eValueType:               "valueType",
	eIntent:                  "intent",
	eRejectionType:           "rejectionType",
	eRejectionReason:         "rejectionReason",
	eBrokerVersion:           "brokerVersion",
	eRecordVersion:           "recordVersion",
	eOperationReference:      "operationReference",
	eBatchOperationReference: "batchOperationReference",
	eAuthorizations:          "authorizations",
	eValue:                   "value",
}

// requiredEnvelope lists the envelope fields Decode insists on, in the order
// a missing one is reported.
var requiredEnvelope = [...]int{ePartitionID, ePosition, eKey, eTimestamp, eRecordType, eValueType, eIntent, eValue}

func envelopeField[T string | []byte](key T) int {
	switch string(key) {
	case "partitionId":
		return ePartitionID
	case "position":
		return ePosition
	case "sourceRecordPosition":
		return eSourceRecordPosition
	case "key":
		return eKey
	case "timestamp":
		return eTimestamp
	case "recordType":
		return eRecordType
	case "valueType":
		return eValueType
	case "intent":
		return eIntent
	case "rejectionType":
		return eRejectionType
	case "rejectionReason":
		return eRejectionReason
	case "brokerVersion":
		return eBrokerVersion
	case "recordVersion":
		return eRecordVersion
	case "operationReference":
		return eOperationReference
	case "batchOperationReference":
		return eBatchOperationReference
	case "authorizations":
		return eAuthorizations
	case "value":
		return eValue
	}
	return -1
}

// valueTypeProcessInstance is the value type decoded into the typed
// ProcessInstanceValue.
const valueTypeProcessInstance = "PROCESS_INSTANCE"

// PROCESS_INSTANCE value fields, in the order Encode writes them (the order
// Zeebe's exporter uses, newer fields last).
const (
	pBpmnProcessID = iota
	pProcessInstanceKey
	pProcessDefinitionKey
	pElementID
	pFlowScopeKey
	pBpmnEventType
	pParentProcessInstanceKey
	pParentElementInstanceKey
	pBpmnElementType
	pVersion
	pTenantID
	pElementInstancePath
	pProcessDefinitionPath
	pCallingElementPath
	pTags
	pRootProcessInstanceKey
	pBusinessID
	pElementInstanceKey
	numPI
)

// piNames are the JSON names, which are also the entries of present_fields.
var piNames = [numPI]string{
	pBpmnProcessID:            "bpmnProcessId",
	pProcessInstanceKey:       "processInstanceKey",
	pProcessDefinitionKey:     "processDefinitionKey",
	pElementID:                "elementId",
	pFlowScopeKey:             "flowScopeKey",
	pBpmnEventType:            "bpmnEventType",
	pParentProcessInstanceKey: "parentProcessInstanceKey",
	pParentElementInstanceKey: "parentElementInstanceKey",
	pBpmnElementType:          "bpmnElementType",
	pVersion:                  "version",
	pTenantID:                 "tenantId",
	pElementInstancePath:      "elementInstancePath",
	pProcessDefinitionPath:    "processDefinitionPath",
	pCallingElementPath:       "callingElementPath",
	pTags:                     "tags",
	pRootProcessInstanceKey:   "rootProcessInstanceKey",
	pBusinessID:               "businessId",
	pElementInstanceKey:       "elementInstanceKey",
}

// piValueNames are piNames prefixed with "value." for error messages.
var piValueNames = func() (n [numPI]string) {
	for i, s := range piNames {
		n[i] = "value." + s
	}
	return n
}()

func piField[T string | []byte](key T) int {
	switch string(key) {
	case "bpmnProcessId":
		return pBpmnProcessID
	case "processInstanceKey":
		return pProcessInstanceKey
	case "processDefinitionKey":
		return pProcessDefinitionKey
	case "elementId":
		return pElementID
	case "flowScopeKey":
		return pFlowScopeKey
	case "bpmnEventType":
		return pBpmnEventType
	case "parentProcessInstanceKey":
		return pParentProcessInstanceKey
	case "parentElementInstanceKey":
		return pParentElementInstanceKey
	case "bpmnElementType":
		return pBpmnElementType
	case "version":
		return pVersion
	case "tenantId":
		return pTenantID
	case "elementInstancePath":
		return pElementInstancePath
	case "processDefinitionPath":
		return pProcessDefinitionPath
	case "callingElementPath":
		return pCallingElementPath
	case "tags":
		return pTags
	case "rootProcessInstanceKey":
		return pRootProcessInstanceKey
	case "businessId":
		return pBusinessID
	case "elementInstanceKey":
		return pElementInstanceKey
	}
	return -1
}

// Zeebe's defaults for absent fields.
const (
	defaultRejectionType = "NULL_VAL"
	defaultUnspecified   = "UNSPECIFIED"
	defaultTenantID      = "<default>"
)
