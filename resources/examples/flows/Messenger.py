import flow_api

def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
    # getting message_value from the 'message_value' field of the input_value
    message_value = inputs['message_value']

    # creating message
    this.message(
        subject='Message',
        message=f' The value is: {message_value}',
    )

    return this.success('all done')
